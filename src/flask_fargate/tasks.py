"""One-off tasks: a command run once in a new task, as the service's tasks run, its logs streamed.

`flask-fargate run -- <command>` runs it with the service's task definition; `up --before`
(or pyproject.toml's `[tool.flask-fargate] before`) runs it with the new image, after the push and
before the service changes. The command is the container's command, which follows
container/entrypoint: that runs it instead of nginx and gunicorn, with the site's secrets as
FLASK_<NAME> variables. The task takes the service's network (subnets, security group, public
IP), its roles and its secrets, and runs on on-demand Fargate whatever the service runs on.
"""

import os
import shlex
import time

import botocore.exceptions

from flask_fargate import secrets, site, stacks
from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import console

STARTED_BY = "flask-fargate run"  # shown as the task's "started by" in the console
BEFORE_FAMILY = "{family}-before"  # the deploy role may run this family only
POLL_SECONDS = 3
# Fargate Spot may stop a task at two minutes' notice when AWS needs the capacity back
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html):
# a migration stopped half way is worse than the few cents on demand costs for its minutes.
ONE_OFF_CAPACITY = [{"capacityProvider": "FARGATE", "weight": 1}]
# RunTask's answer is eventually consistent: DescribeTasks may not know the task for a moment
# and says MISSING (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html).
# Asked again this many times, waiting twice as long each time, before giving up.
MISSING_TRIES = 5
# What the container wrote last reaches its awslogs stream a moment after it stops: read until
# two reads bring nothing, for this long at most.
LAST_LOGS_SECONDS = 10
# What RegisterTaskDefinition takes back from DescribeTaskDefinition, for the `before` copy.
REGISTERED = (
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
)


def in_github_actions():
    """GitHub sets GITHUB_ACTIONS to true in every workflow step ("Variables reference")."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def before_command(given):
    """The `before` command as a list: `--before` when given (an empty one turns it off), else
    pyproject.toml's [tool.flask-fargate] before; [] for none."""
    return shlex.split(site.current().before if given is None else given)


def the_service(aws):
    """(cluster, the ECS service as DescribeServices gives it), from the service stack."""
    described = stacks.outputs(stacks.require_usable(aws, stacks.service().name))
    cluster = described["ClusterName"]
    (service,) = aws.client("ecs").describe_services(
        cluster=cluster, services=[described["ServiceName"]]
    )["services"]
    return cluster, service


def run(aws, command):
    """Run `command` in a new task of the service's task definition; its exit status."""
    cluster, service = the_service(aws)
    ecs = aws.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    return run_task(aws, cluster, service, definition["taskDefinition"], command)


def run_before(aws, resources, tag, architecture, command, recreate=False):
    """Run `command` with the image `tag` before the service gets it; stop the deploy if it fails.

    The task definition is the service's, with the new image, the CpuArchitecture it is built
    for (the deploy's, which the service may not run yet) and the secrets' current version
    (the ones the deploy rolls out), registered in a family of its own (the service's family
    stays the history `rollback` reads) and deregistered afterwards. Skipped, with the command to
    run once the site is up, when there is no service to copy: a first deploy, a service stack
    that failed to create, or one that --recreate is about to make again.
    """
    if not command:
        return
    service_stack = stacks.describe(aws, stacks.service().name)
    if recreate or service_stack is None or service_stack["StackStatus"] not in stacks.USABLE:
        console.print(
            f"--before: not run, there is no service to copy yet (a first deploy, or one made "
            f"again); once the site is up: flask-fargate run -- {shlex.join(command)}",
            style="yellow",
        )
        return
    cluster, service = the_service(aws)
    ecs = aws.client("ecs")
    current = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    described = current["taskDefinition"]
    definition = {key: described[key] for key in REGISTERED if key in described}
    # The service's CPU may be the one the deploy leaves: the new image's would not start there.
    definition["runtimePlatform"] = {
        **described["runtimePlatform"],
        "cpuArchitecture": architecture,
    }
    arn = resources.get("SecretsArn")
    for container in definition["containerDefinitions"]:
        if container["image"].startswith(resources["RepositoryUri"] + ":"):
            container["image"] = f"{resources['RepositoryUri']}:{tag}"
        for secret in container.get("secrets", []):
            if arn and secret["valueFrom"].startswith(arn):
                secret["valueFrom"] = secrets.pinned(arn, secrets.current_version(aws, arn))
    family = BEFORE_FAMILY.format(family=described["family"])
    registered = ecs.register_task_definition(family=family, **definition)["taskDefinition"]
    console.print(f"Running `{shlex.join(command)}` with image {tag} before the rollout")
    unchanged = f"nothing rolled out, {stacks.service().name} runs the image it ran"
    # The command runs with the site's secrets in its environment, and anyone who can read the
    # repository can read its workflow runs' logs ("Read access to the repository is required",
    # GitHub Docs, "Viewing workflow run history"): in CI its output stays in CloudWatch Logs.
    streamed = not in_github_actions()
    try:
        # The definition RegisterTaskDefinition answered, not read back: ECS's reads may not
        # know it yet (eventual consistency, as after RunTask).
        status = run_task(aws, cluster, service, registered, command, streamed)
    except Abort as stop:
        raise Abort(f"--before: {stop.message}; {unchanged}", stop.status) from None
    except botocore.exceptions.ClientError as error:
        raise Abort(f"--before: AWS: {error}; {unchanged}") from None
    finally:
        ecs.deregister_task_definition(taskDefinition=registered["taskDefinitionArn"])
    if status != 0:
        raise Abort(f"--before `{shlex.join(command)}` exited with status {status}: {unchanged}")
    if not streamed:
        console.print(f"--before `{shlex.join(command)}` exited with status 0")


def run_task(aws, cluster, service, definition, command, streamed=True):
    """Start a task of the task definition (as DescribeTaskDefinition gives it) with the service's
    network, follow it, return its status. Its output is printed as it comes when `streamed`,
    else only where to read it."""
    ecs = aws.client("ecs")
    container = definition["containerDefinitions"][0]
    placement = {"capacityProviderStrategy": ONE_OFF_CAPACITY}
    if service.get("platformVersion"):
        placement["platformVersion"] = service["platformVersion"]
    started = ecs.run_task(
        cluster=cluster,
        taskDefinition=definition["taskDefinitionArn"],
        count=1,
        startedBy=STARTED_BY,
        networkConfiguration=service["networkConfiguration"],
        overrides={"containerOverrides": [{"name": container["name"], "command": command}]},
        **placement,
    )
    if started["failures"]:
        failure = started["failures"][0]
        reason = f"{failure.get('reason')}: {failure.get('detail', '')}".rstrip(": ")
        raise Abort(f"ECS could not start the task: {reason}")
    (task,) = started["tasks"]
    task_id = task["taskArn"].rpartition("/")[2]
    logs = LogStream(aws.client("logs"), container, task_id)
    if not streamed:
        console.print(
            f"Its output is not shown in CI, the site's secrets being in its environment: "
            f"CloudWatch Logs group {logs.group}, stream {logs.stream}; `flask-fargate logs "
            f"--since 1h` prints it (task {task_id[:8]})",
        )
    task = follow(ecs, cluster, task, logs if streamed else None)
    (ran,) = [c for c in task["containers"] if c["name"] == container["name"]]
    if ran.get("exitCode") is None:
        # It never ran: the image could not be pulled, the secrets not read, no capacity...
        reasons = [task.get("stoppedReason"), ran.get("reason")]
        raise Abort(f"task {task_id} did not run: {'; '.join(filter(None, reasons))}")
    return ran["exitCode"]


def follow(ecs, cluster, task, logs=None):
    """Print the task's log events (`logs`, None for none) as they come until it stops; the
    stopped task.

    A loop rather than the tasks_stopped waiter, which prints nothing until the end. Ctrl-C
    stops watching, not the task.
    """
    task_id = task["taskArn"].rpartition("/")[2]
    try:
        with console.status(f"task {task_id}: {task['lastStatus']}") as status:
            while task["lastStatus"] != "STOPPED":
                time.sleep(POLL_SECONDS)
                if logs:
                    logs.print_new()
                task = described_task(ecs, cluster, task["taskArn"])
                status.update(f"task {task_id}: {task['lastStatus']}")
    except KeyboardInterrupt:
        raise Abort(
            f"Stopped watching; task {task_id} keeps running in {cluster} (`make logs` shows "
            "its output)",
            130,
        ) from None
    if logs:
        last_logs(logs)
    return task


def described_task(ecs, cluster, arn):
    """The task as DescribeTasks gives it, asked again while it answers MISSING (see
    MISSING_TRIES); one line when it never knows it."""
    for attempt in range(MISSING_TRIES):
        if attempt:
            time.sleep(POLL_SECONDS * 2**attempt)
        answer = ecs.describe_tasks(cluster=cluster, tasks=[arn])
        if answer["tasks"]:
            return answer["tasks"][0]
    reasons = "; ".join(failure.get("reason", "") for failure in answer["failures"])
    raise Abort(f"ECS does not know task {arn} ({reasons or 'no reason given'})")


def last_logs(logs):
    """Print what reaches the stream after the task stopped (see LAST_LOGS_SECONDS)."""
    deadline = time.monotonic() + LAST_LOGS_SECONDS
    empty_reads = 0
    while empty_reads < 2 and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        empty_reads = 0 if logs.print_new() else empty_reads + 1


class LogStream:
    """The task's awslogs stream (<prefix>/<container>/<task id>), printed as it grows."""

    def __init__(self, client, container, task_id):
        options = container["logConfiguration"]["options"]
        self.client = client
        self.group = options["awslogs-group"]
        self.stream = f"{options['awslogs-stream-prefix']}/{container['name']}/{task_id}"
        self.token = None

    def print_new(self):
        """Print the events written since the last call; how many."""
        # GetLogEvents has no paginator: a page's nextForwardToken comes back unchanged at the end.
        printed = 0
        while True:
            try:
                page = self.client.get_log_events(
                    logGroupName=self.group,
                    logStreamName=self.stream,
                    startFromHead=True,
                    **({"nextToken": self.token} if self.token else {}),
                )
            except botocore.exceptions.ClientError as error:
                if error.response["Error"]["Code"] == "ResourceNotFoundException":
                    return printed  # the container has written nothing yet
                raise
            for event in page["events"]:
                console.print(event["message"].rstrip("\n"))
            printed += len(page["events"])
            if page["nextForwardToken"] == self.token:
                return printed
            self.token = page["nextForwardToken"]


def refuse_no_command(argv):
    """The command after `run --`; one line and exit 2 without one."""
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        raise Abort(
            "run needs a command after --, e.g. flask-fargate run -- flask --app app routes",
            USAGE,
        )
    return command
