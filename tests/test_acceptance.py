"""The acceptance harness (acceptance/) and its registry of AWS behaviours, tested against the
stand-in: a run there bakes real sites and deploys them with the tool, as a run on AWS does."""

import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from acceptance import __main__ as main
from acceptance import cleanup, registry
from acceptance.__main__ import PLANNED_HOURS
from acceptance.scenarios import ANSWERS, ESTIMATED, SCENARIOS
from acceptance.traffic import Stream
from flask_fargate.aws import Aws
from flask_fargate.standin import rehearse
from flask_fargate.standin.server import moto_server

ROOT = Path(__file__).resolve().parents[1]
# The issue's six: what only AWS can settle.
ISSUE_UNKNOWNS = {
    "ecs.bluegreen.fixed-404-default",
    "cfn.ecs.update-after-traffic-shift",
    "cfn.ecs.launch-type-to-strategy-replaces",
    "ecs.capacity.mixed-first-task-on-demand",
    "cfn.importvalue-inside-if",
    "elbv2.loadbalancer-role-modify-rule",
}
# The subset the stand-in run below takes; mixed and joining run in the cleanup's test.
STANDIN_SCENARIOS = "first-deploy,second-image,blue-green,crash-rollback,destroy"


def test_the_registry_keeps_its_rules():
    entries = registry.load()
    assert registry.problems(entries, SCENARIOS) == []
    standings = {entry["id"]: entry["standing"] for entry in entries}
    assert {standings[ident] for ident in ISSUE_UNKNOWNS} == {"unknown"}
    assert len(entries) >= 40


def test_the_registry_names_what_is_wrong():
    entries = [
        {"id": "Bad Id", "says": "x", "source": "https://x", "standing": "documented"},
        {
            "id": "a.b",
            "says": "x",
            "source": "https://x",
            "standin": "rules:no_such_rule",
            "scenario": "no-such-scenario",
            "standing": "observed",
        },
        {"id": "a.b", "says": "x", "source": "http://x", "standing": "maybe", "tool": "cost:nope"},
    ]
    found = "\n".join(registry.problems(entries, SCENARIOS))
    for words in (
        "'Bad Id': not an id",
        "rules:no_such_rule does not exist",
        "no scenario 'no-such-scenario'",
        "seen (date, region)",
        "a.b: listed twice",
        "standing 'maybe'",
        "tool cost:nope",
        "https source",
    ):
        assert words in found


def test_the_registry_file_is_as_dump_writes_it(tmp_path):
    copy = tmp_path / "behaviours.toml"
    registry.dump(registry.load(), copy)
    assert copy.read_text() == registry.REGISTRY.read_text()


def a_record(target, confirmed=(), contradicted=()):
    return {
        "target": target,
        "started": "2026-12-07T10:00:00+00:00",
        "region": "eu-west-1",
        "registry": {"confirmed": list(confirmed), "contradicted": list(contradicted)},
    }


def test_a_run_on_aws_records_what_it_saw(tmp_path):
    copy = tmp_path / "behaviours.toml"
    shutil.copy(registry.REGISTRY, copy)
    facts = a_record("aws", ["cfn.fn-cidr"], ["ecs.capacity.mixed-first-task-on-demand"])
    registry.record_run(facts, copy)
    entries = registry.by_id(registry.load(copy))
    assert entries["cfn.fn-cidr"]["standing"] == "observed"
    assert entries["ecs.capacity.mixed-first-task-on-demand"]["standing"] == "contradicted"
    assert entries["ecs.capacity.mixed-first-task-on-demand"]["seen"] == "2026-12-07, eu-west-1"
    assert entries["cfn.list-imports"]["standing"] == "documented"
    assert registry.problems(list(entries.values()), SCENARIOS) == []


def test_a_stand_in_run_records_nothing(tmp_path):
    with pytest.raises(ValueError, match="a run on standin settles nothing on AWS"):
        registry.record_run(a_record("standin", ["cfn.fn-cidr"]), tmp_path / "untouched.toml")


def test_a_joining_site_is_estimated_without_a_load_balancer():
    own, _ = cleanup.estimate({"a": ANSWERS["a"]}, hours=10)
    joining, _ = cleanup.estimate({"d": {**ANSWERS["a"], "host_site": "a"}}, hours=10)
    # 10 hours of a load balancer and its two public addresses, at the tool's prices.
    assert own - joining == pytest.approx(10 * (0.0225 + 2 * 0.005), abs=0.011)  # in cents


def test_the_readmes_quote_the_estimate():
    usd, _ = cleanup.estimate(ESTIMATED, PLANNED_HOURS)
    assert PLANNED_HOURS == 4
    for readme in (ROOT / "README.md", ROOT / "acceptance" / "README.md"):
        text = " ".join(readme.read_text().replace("*", "").split())
        assert f"at most ${usd} for the four hours" in text, readme


def flaky_server():
    """A local server answering 200, 503, then 200 always; its port."""
    answers = iter([200, 503])

    class Flaky(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(next(answers, 200))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_request_stream_counts_what_failed():
    server = flaky_server()
    stream = Stream(
        f"http://127.0.0.1:{server.server_port}/", host="shop.example.com", interval=0.05
    )
    stream.start()
    time.sleep(0.5)
    counts = stream.stop()
    server.shutdown()
    assert counts["sent"] >= 3
    assert counts["failed"] == 1
    assert counts["failures"] == {"503": 1}


def acceptance(*args, env=None, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "acceptance", "--standin", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # Ctrl-C reaches it as a terminal's would, whatever this run inherited (a shell's `&`
        # starts a command with SIGINT ignored, and Python then leaves it ignored).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **kwargs,
    )


@pytest.fixture
def aws_stand_in(monkeypatch):
    """An Aws session on a moto server, as the harness's AWS path would have it."""
    for key, value in rehearse.ISOLATED.items():
        monkeypatch.setenv(key, value)
    with moto_server() as endpoint:
        yield Aws(region="eu-west-1", endpoint_url=endpoint)


def test_it_asks_nothing_and_creates_nothing_in_another_account(
    aws_stand_in, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv(cleanup.ACCOUNT_VARIABLE, "000000000000")
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail(f"asked {prompt}"))
    assert main.run(main.parse(["--out", str(tmp_path)]), aws_stand_in) == 2
    assert capsys.readouterr().err == (
        "acceptance: FLASK_FARGATE_ACCEPTANCE_ACCOUNT='000000000000', but the credentials are "
        "account 123456789012: set it to the account this run may create resources in (and "
        "pays for)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_it_creates_nothing_unless_the_account_is_typed(
    aws_stand_in, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv(cleanup.ACCOUNT_VARIABLE, "123456789012")
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert main.run(main.parse(["--out", str(tmp_path)]), aws_stand_in) == 1
    said = capsys.readouterr().out
    assert "Estimate: at most $1.49 for the 4 hours a run may take" in said
    assert said.endswith("Nothing created.\n")
    assert list(tmp_path.iterdir()) == []
    assert cleanup.leftovers(aws_stand_in) == ([], [])


def only_report(folder):
    (report,) = folder.glob("*/report.json")
    return json.loads(report.read_text())


def test_a_run_on_the_stand_in(tmp_path):
    copy = tmp_path / "behaviours.toml"
    shutil.copy(registry.REGISTRY, copy)
    run = acceptance(
        "--scenarios", STANDIN_SCENARIOS, "--out", str(tmp_path / "out"), "--registry", str(copy)
    )
    output, _ = run.communicate(timeout=300)
    facts = only_report(tmp_path / "out")
    assert [s["name"] for s in facts["scenarios"]] == STANDIN_SCENARIOS.split(","), output
    assert [s["error"] for s in facts["scenarios"]] == [""] * 5, output
    assert facts["target"] == "standin"
    assert facts["left_behind"] == []
    assert facts["tagged_after_cleanup"] == []  # the stand-in deletes as CloudFormation does
    assert facts["registry"]["contradicted"] == []
    assert "ecs.bluegreen.fixed-404-default" in facts["registry"]["not meaningful on the stand-in"]
    assert run.returncode == 0
    # Each check names an entry of the registry, which names the scenario that checked it.
    entries = registry.by_id(registry.load())
    for scenario in facts["scenarios"]:
        for check in scenario["checks"]:
            assert entries[check["id"]]["scenario"] == scenario["name"], check["id"]
        if scenario["requests"]:
            assert scenario["requests"] == {"meaningful": False}
    report = (tmp_path / "out" / facts["run_id"] / "report.md").read_text()
    assert "the stand-in (a moto server), not AWS" in report
    # A stand-in run never marks a behaviour observed on AWS; its report, were it AWS's, would.
    assert copy.read_text() == registry.REGISTRY.read_text()
    registry.record_run({**facts, "target": "aws"}, copy)
    entries = registry.by_id(registry.load(copy))
    assert entries["ecs.bluegreen.traffic-steps"]["standing"] == "observed"
    assert entries["ecs.bluegreen.fixed-404-default"]["standing"] == "unknown"
    assert entries["ecs.bluegreen.traffic-steps"]["seen"] == f"{facts['started'][:10]}, eu-west-1"


def test_ctrl_c_cleans_up(tmp_path):
    run = acceptance("--scenarios", "first-deploy,second-image", "--out", str(tmp_path))
    for line in run.stdout:
        if "-resources: CREATE_COMPLETE" in line:  # interrupted mid-deploy, the service next
            break
    run.send_signal(signal.SIGINT)
    output, _ = run.communicate(timeout=120)
    assert "acceptance: interrupted (Ctrl-C): cleaning up" in output
    assert "cleanup: deleting stack ffacc-" in output
    assert only_report(tmp_path)["left_behind"] == []


def test_each_scenario_checks_the_entries_that_name_it():
    import inspect

    for entry in registry.load():
        if entry.get("scenario"):
            assert entry["id"] in inspect.getsource(SCENARIOS[entry["scenario"]]), entry["id"]


def test_the_cleanup_deletes_a_joining_site_before_its_host(tmp_path):
    """No destroy scenario: the cleanup alone removes the host and the site joining it, which
    CloudFormation (and the stand-in) refuse in the other order."""
    run = acceptance("--scenarios", "first-deploy,mixed,joining", "--out", str(tmp_path))
    output, _ = run.communicate(timeout=300)
    deleted = re.findall(r"cleanup: deleting stack (ffacc-\w+-(\w)-invalid-(\w+))", output)
    assert [(site, stack) for _, site, stack in deleted] == [
        ("a", "service"),
        ("c", "service"),
        ("d", "service"),
        ("d", "resources"),
        ("a", "resources"),
        ("c", "resources"),
    ], output
    facts = only_report(tmp_path)
    assert facts["left_behind"] == []
    assert [s["error"] for s in facts["scenarios"]] == ["", "", ""]
    checks = {c["id"]: c["outcome"] for s in facts["scenarios"] for c in s["checks"]}
    assert checks["ecs.cluster.capacity-providers"] == "confirmed"
    assert checks["cfn.list-imports"] == "confirmed"


def test_one_contradiction_settles_a_behaviour_checked_in_several_sites(tmp_path):
    from acceptance.harness import Run

    run = Run(aws=None, run_id="x", work=tmp_path, on_aws=True)
    for held in (True, False, True):
        with run.scenario("crash-rollback"):
            run.check("ecs.deployment.alarm-rollback", held, "")
    with run.scenario("blue-green"):
        run.check("ecs.bluegreen.fixed-404-default", True, "", aws_only=True)
    assert run.results() == {
        "ecs.deployment.alarm-rollback": False,
        "ecs.bluegreen.fixed-404-default": True,
    }
    run.on_aws = False  # the stand-in: its AWS-only checks settle nothing
    assert run.results() == {"ecs.deployment.alarm-rollback": False}


def test_a_deploy_past_its_deadline_stops_the_run(tmp_path):
    from acceptance.harness import Run
    from acceptance.scenarios import Hung, deadline

    run = Run(aws=None, run_id="x", work=tmp_path, on_aws=True)
    started = time.monotonic()
    with pytest.raises(Hung, match="still deploying after 1 s"), run.scenario("first-deploy"):
        with deadline(1):
            time.sleep(5)
    assert time.monotonic() - started < 3
    assert run.scenarios[0].error == "stopped: Hung still deploying after 1 s"
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL


def test_on_aws_each_new_image_is_a_commit_of_its_own(tmp_path):
    """On AWS `up` builds the working tree's commit: the second image and the crashing one are
    commits, so each gets a tag of its own (flask_fargate.image.source_tag)."""
    from acceptance.harness import Run
    from flask_fargate import image

    run = Run(aws=type("Aws", (), {"region": "eu-west-1"}), run_id="x", work=tmp_path, on_aws=True)
    with run.scenario("first-deploy"):
        site = run.bake("a", dns="external", ssl="no")
    assert run.scenarios[0].error == ""
    tags = [image.source_tag(site.folder)]
    for kind in ("second", "crash"):
        assert run.new_image(site, kind) == []
        tags.append(image.source_tag(site.folder))
    assert len(set(tags)) == 3 and not any("dirty" in tag for tag in tags)
    entrypoint = (site.folder / "container" / "entrypoint").read_text()
    assert entrypoint.endswith("exit 1\n")
    assert Run(None, "y", tmp_path, on_aws=False).new_image(site, "crash") == ["--tag", "crash"]


def test_during_a_deploy_on_aws_the_requests_are_counted(tmp_path):
    from acceptance.harness import Run
    from acceptance.traffic import during

    server = flaky_server()
    run = Run(aws=None, run_id="x", work=tmp_path, on_aws=True)
    with run.scenario("second-image"):
        for _ in range(2):
            with during(run, f"http://127.0.0.1:{server.server_port}/", "shop.example.com"):
                time.sleep(0.3)
    server.shutdown()
    counts = run.scenarios[0].requests
    assert counts["sent"] >= 2 and counts["failed"] == 1 and counts["failures"] == {"503": 1}


def test_the_cleanup_deletes_the_runs_records_in_the_test_zone(aws_stand_in):
    route53 = aws_stand_in.client("route53")
    zone = route53.create_hosted_zone(Name="example.org", CallerReference="test")["HostedZone"]
    zone_id = zone["Id"].split("/")[-1]
    names = ["_a1b2.ffacc-run1-a.example.org.", "shop.example.org.", "ffacc-run2-a.example.org."]
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": name,
                "Type": "CNAME",
                "TTL": 300,
                "ResourceRecords": [{"Value": "target.example.net."}],
            },
        }
        for name in names
    ]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    assert cleanup.remove_records(aws_stand_in, zone_id, "ffacc-run1-") == []
    left = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert sorted(r["Name"] for r in left if r["Type"] == "CNAME") == names[1:][::-1]


def test_a_bake_refused_says_why(tmp_path):
    from acceptance.harness import Run

    run = Run(aws=type("Aws", (), {"region": "eu-west-1"}), run_id="x", work=tmp_path, on_aws=True)
    with run.scenario("first-deploy"):
        run.bake("a", dns="external", hosted_zone_id="Z123")
    assert run.scenarios[0].error.startswith("RuntimeError: cookiecutter refused the answers:")
    assert 'hosted_zone_id: "Z123" is not allowed' in run.scenarios[0].error


@pytest.mark.parametrize(
    ("args", "credentials", "said"),
    [
        (["--region", "nowhere-1"], True, "--region nowhere-1: not an AWS region"),
        ([], False, "No AWS credentials found: run `aws configure`"),
    ],
)
def test_without_a_region_or_credentials_it_says_so_in_a_line(tmp_path, args, credentials, said):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    env |= {"AWS_EC2_METADATA_DISABLED": "true"}
    if credentials:
        env |= {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}
    command = [sys.executable, "-m", "acceptance", "--out", str(tmp_path), *args]
    ran = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 2
    assert ran.stderr.startswith(f"acceptance: {said}") and ran.stderr.count("\n") == 1
    assert ran.stdout == ""
