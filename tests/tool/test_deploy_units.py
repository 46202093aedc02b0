"""The deploy tool's pieces that need neither AWS nor Docker: image tags, registry login,
parameters, failures, and the Docker engine check."""

import base64
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from flask_fargate import host, image, stacks, tasks, watch
from flask_fargate.errors import USAGE, Abort


def git(repo, *args):
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)  # noqa: S603, S607
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "--quiet")
    git(tmp_path, "config", "user.email", "tests@example.com")
    git(tmp_path, "config", "user.name", "tests")
    (tmp_path / "app.py").write_text("print('hello')\n")
    git(tmp_path, "add", "app.py")
    git(tmp_path, "commit", "--quiet", "-m", "first")
    return tmp_path


def head(repo):
    return git(repo, "rev-parse", "--short=7", "HEAD")


def test_a_clean_tree_is_tagged_with_the_short_sha(repo):
    assert image.source_tag(repo) == head(repo)


def test_a_changed_tree_gets_dirty_and_a_hash_of_the_changes(repo):
    (repo / "app.py").write_text("print('changed')\n")
    tag = image.source_tag(repo)
    assert tag.startswith(f"{head(repo)}-dirty-") and len(tag) == 7 + len("-dirty-") + 6
    assert image.source_tag(repo) == tag  # the same changes: the same tag, found in ECR

    (repo / "app.py").write_text("print('changed again')\n")
    assert image.source_tag(repo) not in (tag, head(repo))


def test_an_untracked_link_to_a_folder_is_tagged_by_its_target(repo, tmp_path_factory):
    (repo / ".venv").symlink_to(tmp_path_factory.mktemp("venv"))  # a shared .venv, say
    first = image.source_tag(repo)
    assert "-dirty-" in first
    (repo / ".venv").unlink()
    (repo / ".venv").symlink_to(tmp_path_factory.mktemp("other"))
    assert image.source_tag(repo) != first


def test_an_untracked_file_makes_the_tree_dirty(repo):
    (repo / "new.py").write_text("x = 1\n")
    first = image.source_tag(repo)
    assert "-dirty-" in first
    (repo / "new.py").write_text("x = 2\n")
    assert image.source_tag(repo) != first


def test_a_folder_without_a_commit_asks_for_one_or_a_tag(tmp_path):
    with pytest.raises(Abort) as stopped:
        image.source_tag(tmp_path)
    assert stopped.value.status == USAGE
    assert "git init" in stopped.value.message and "--tag TAG" in stopped.value.message


def test_the_ecr_token_gives_user_password_and_registry_host():
    token = base64.b64encode(b"AWS:secret:with:colons").decode()
    login = image.registry_login(
        {
            "authorizationToken": token,
            "proxyEndpoint": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        }
    )
    assert login == ("AWS", "secret:with:colons", "123456789012.dkr.ecr.eu-west-1.amazonaws.com")


def test_no_docker_engine_is_one_line_and_exit_2(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(Abort) as stopped:
        image.docker_engine()
    assert stopped.value.status == USAGE
    assert stopped.value.message.startswith("No Docker engine answers (")
    assert "\n" not in stopped.value.message


def test_overrides_are_passed_deliberate_values_kept_and_the_rest_left_to_defaults():
    # Cpu's default was edited since the last deploy; DesiredCount was set with --set.
    deployed = {"ImageTag": None, "Cpu": "256", "DesiredCount": "2", "AlarmEmail": ""}
    defaults = {**deployed, "Cpu": "512"}
    current = {"ImageTag": "v1", "Cpu": "256", "DesiredCount": "3", "AlarmEmail": ""}
    parameters, kept = stacks.change_set_parameters(defaults, current, deployed, {"ImageTag": "v2"})
    assert parameters == [
        {"ParameterKey": "ImageTag", "ParameterValue": "v2"},
        {"ParameterKey": "DesiredCount", "UsePreviousValue": True},
    ]
    assert kept == [("DesiredCount", "3", "2")]


@pytest.mark.parametrize(
    "message",
    [
        "The submitted information didn't contain changes. Submit different information to "
        "create a change set.",
        "No updates are to be performed.",
    ],
)
def test_what_aws_says_for_no_changes_is_recognised(message):
    assert stacks.no_changes(message)
    assert not stacks.no_changes("Parameter 'Cpu' must be one of AllowedValues")


def event(logical_id, status, reason, seconds):
    return {
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::ECS::Service",
        "ResourceStatus": status,
        "ResourceStatusReason": reason,
        "Timestamp": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds),
    }


def test_the_first_failure_is_the_cause_not_the_cancelled_siblings():
    events = [
        event("Alarm", "CREATE_FAILED", "Resource creation cancelled", 1),
        event("Service", "CREATE_FAILED", "Circuit breaker: tasks failed to start", 2),
        event("Service", "DELETE_FAILED", "later noise", 3),
        event("Service", "CREATE_IN_PROGRESS", "", 0),
    ]
    assert watch.first_failure(events) == (
        "Service (AWS::ECS::Service): Circuit breaker: tasks failed to start"
    )
    assert watch.first_failure([event("Service", "CREATE_COMPLETE", "", 0)]) is None


@pytest.mark.parametrize(
    ("status", "settled"),
    [
        ("CREATE_IN_PROGRESS", False),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", False),
        ("REVIEW_IN_PROGRESS", True),
        ("UPDATE_ROLLBACK_COMPLETE", True),
        ("CREATE_COMPLETE", True),
    ],
)
def test_a_stack_settles_when_no_operation_runs(status, settled):
    assert watch.is_settled(status) is settled


def test_since_takes_seconds_minutes_hours_and_days():
    from flask_fargate.commands import parse_since

    assert parse_since("30s") == timedelta(seconds=30)
    assert parse_since("10m") == timedelta(minutes=10)
    assert parse_since("2h") == timedelta(hours=2)
    assert parse_since("1d") == timedelta(days=1)


def test_the_package_and_help_load_without_boto3_docker_or_rich():
    check = (
        "import sys, flask_fargate, flask_fargate.main; "
        "assert not {'boto3', 'docker', 'rich'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", check], check=True)  # noqa: S603
    shown = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "flask_fargate", "--help"], capture_output=True, text=True
    )
    assert shown.returncode == 0
    for command in ("up", "plan", "image", "status", "logs", "ns", "destroy"):
        assert f"    {command} " in shown.stdout


@pytest.fixture
def docker_client():
    try:
        return image.docker_engine()
    except Abort as stopped:
        pytest.skip(stopped.message)


# An image of scratch and a file runs no program while it builds: any engine builds either.
@pytest.mark.parametrize(("architecture", "platform"), image.PLATFORMS.items())
def test_the_image_builds_for_the_tasks_cpu(docker_client, tmp_path, architecture, platform):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /\n")
    (tmp_path / "hello.txt").write_text("hello\n")
    reference = f"deploy-tests:{'-'.join(tmp_path.parts[-3:]).lower()}"  # unique per session
    image.build(docker_client, tmp_path, reference, platform)
    try:
        built = docker_client.images.get(reference).attrs["Architecture"]
        assert f"linux/{built}" == platform, architecture
    finally:
        docker_client.images.remove(reference, force=True)


class Engine:
    """What `check_platform` reads of a Docker engine: `docker info`."""

    def __init__(self, machine, system="Debian GNU/Linux 13 (trixie)"):
        self.facts = {"Architecture": machine, "OperatingSystem": system}

    def info(self):
        return self.facts


@pytest.fixture
def no_emulators(monkeypatch, tmp_path):
    """A kernel with no QEMU handler registered; returns where one would be."""
    monkeypatch.setattr(image, "BINFMT", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("machine", "platform"), [("x86_64", "linux/amd64"), ("aarch64", "linux/arm64")]
)
def test_an_engine_builds_its_own_cpu_without_emulation(no_emulators, machine, platform):
    image.check_platform(Engine(machine), platform)


def test_an_x86_engine_without_qemu_says_in_one_line_what_to_install_for_arm64(no_emulators):
    with pytest.raises(Abort) as stopped:
        image.check_platform(Engine("x86_64"), "linux/arm64")

    message = stopped.value.message
    assert stopped.value.status == USAGE and "\n" not in message
    assert message.startswith("The Docker engine runs on x86_64 and cannot build linux/arm64")
    assert "sudo apt-get install qemu-user-static" in message
    assert "tonistiigi/binfmt --install arm64" in message
    assert message.endswith("or run the tasks on X86_64 with --set CpuArchitecture=X86_64")


def test_an_arm_engine_without_qemu_names_amd64_and_the_way_back(no_emulators):
    with pytest.raises(Abort) as stopped:
        image.check_platform(Engine("aarch64"), "linux/amd64")

    assert "tonistiigi/binfmt --install amd64" in stopped.value.message
    assert stopped.value.message.endswith("--set CpuArchitecture=ARM64")


def test_a_registered_qemu_handler_or_docker_desktop_builds_the_other_cpu(no_emulators):
    image.check_platform(Engine("aarch64", system="Docker Desktop"), "linux/amd64")
    (no_emulators / "qemu-aarch64").write_text("enabled\n")
    image.check_platform(Engine("x86_64"), "linux/arm64")


def test_an_arm64_image_carries_its_architecture_in_the_tag(repo):
    assert image.image_tag("X86_64", repo) == head(repo)  # as before ARM64 was offered
    assert image.image_tag("ARM64", repo) == f"{head(repo)}-arm64"


class Answers:
    """A stand-in ECS client whose DescribeTasks gives these answers in turn."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def describe_tasks(self, cluster, tasks):
        return self.answers.pop(0)


MISSING = {"tasks": [], "failures": [{"arn": "arn:task/1", "reason": "MISSING"}]}
RUNNING = {"taskArn": "arn:task/1", "lastStatus": "RUNNING"}
STOPPED = {"taskArn": "arn:task/1", "lastStatus": "STOPPED"}


class QuietLogs:
    """A log stream printing these counts of events, read after read, then nothing."""

    def __init__(self, *counts):
        self.counts = list(counts)
        self.reads = 0

    def print_new(self):
        self.reads += 1
        return self.counts.pop(0) if self.counts else 0


@pytest.fixture
def no_waiting(monkeypatch):
    monkeypatch.setattr(tasks, "POLL_SECONDS", 0)


def test_a_task_ecs_does_not_know_yet_is_asked_for_again(no_waiting):
    """RunTask is eventually consistent: DescribeTasks may answer MISSING at first."""
    ecs = Answers(MISSING, MISSING, {"tasks": [STOPPED], "failures": []})

    assert tasks.follow(ecs, "cluster", RUNNING, QuietLogs()) == STOPPED


def test_a_task_ecs_never_knows_is_one_line(no_waiting):
    ecs = Answers(*[MISSING] * tasks.MISSING_TRIES)

    with pytest.raises(Abort, match=r"^ECS does not know task arn:task/1 \(MISSING\)$"):
        tasks.follow(ecs, "cluster", RUNNING, QuietLogs())


def test_the_logs_are_read_after_the_task_stopped_until_they_stay_quiet(no_waiting):
    """awslogs delivers the container's last lines a moment after it stops."""
    logs = QuietLogs(0, 3, 0, 0)

    tasks.follow(Answers(), "cluster", STOPPED, logs)

    assert (logs.reads, logs.counts) == (4, [])


HOST_LISTENERS = {"HttpListenerArn": "arn:http", "HttpsListenerArn": "arn:https"}


@pytest.mark.parametrize(
    ("outputs", "https", "listener"),
    [(HOST_LISTENERS, "true", "arn:https"), (HOST_LISTENERS, "false", "arn:http")],
)
def test_a_joining_site_goes_on_the_hosts_listener_it_serves_on(outputs, https, listener):
    assert host.listener_of("example-com", outputs, {"EnableHttps": https}) == listener


def test_a_host_without_https_is_refused_to_a_site_with_https_in_one_line():
    with pytest.raises(Abort) as refused:
        host.listener_of("example-com", {"HttpListenerArn": "arn:http"}, {"EnableHttps": "true"})
    assert refused.value.status == USAGE
    assert str(refused.value) == (
        "HostSite example-com: example-com serves no HTTPS (its EnableHttps is false) and this "
        "site does; --set EnableHttps=false here, or turn HTTPS on there while no site is joined"
    )


@pytest.mark.parametrize(
    ("taken", "chosen"),
    [([], 1001), ([1000], 1001), ([1000, 1001, 1003], 1002), ([5, 1000, 1001, 1002], 1003)],
)
def test_a_joining_site_takes_the_lowest_free_priority_above_the_hosts(taken, chosen):
    assert host.lowest_free_priority([{"Priority": str(p)} for p in taken]) == chosen


# CloudFormation takes at most 51,200 bytes in a TemplateBody ("CloudFormation quotas", AWS
# CloudFormation User Guide); the resources template's comments alone would take it over.
TEMPLATE_BODY_BYTES = 51_200


@pytest.mark.answers
@pytest.mark.parametrize("stack", ["resources", "service"])
def test_each_template_goes_to_cloudformation_within_its_size_limit_and_unchanged(stack):
    spec = getattr(stacks, stack)()
    body = spec.body()
    assert len(body.encode()) <= TEMPLATE_BODY_BYTES
    assert stacks.decode(body) == stacks.decode(spec.template.read_text())


@pytest.mark.parametrize("command", ["status", "rehearse", "local"])
def test_outside_a_site_every_command_says_so_in_one_line(tmp_path, command):
    done = subprocess.run(
        [sys.executable, "-m", "flask_fargate", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )

    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {tmp_path}: no site here")
    assert len(done.stderr.splitlines()) == 1
