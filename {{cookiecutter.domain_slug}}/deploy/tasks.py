"""One-off tasks: a command run once in a new task, as the service's tasks run, its logs streamed.

`python -m deploy run -- <command>` runs it with the service's task definition; `up --before`
(or pyproject.toml's `[tool.deploy] before`) runs it with the new image, after the push and
before the service changes. The command is the container's command, which follows
container/entrypoint: that runs it instead of nginx and gunicorn, with the site's secrets as
FLASK_<NAME> variables. The task takes the service's network and capacity (subnets, security
group, public IP, capacity providers), its roles and its secrets.
"""

import shlex
import time
import tomllib

import botocore.exceptions

from deploy import image, stacks
from deploy.errors import USAGE, Abort
from deploy.ui import console

STARTED_BY = "python -m deploy run"  # shown as the task's "started by" in the console
BEFORE_FAMILY = "{family}-before"  # the deploy role may run this family only
POLL_SECONDS = 3
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


def before_command(given, settings=image.PROJECT / "pyproject.toml"):
    """The `before` command as a list: `--before` when given (an empty one turns it off), else
    pyproject.toml's [tool.deploy] before; [] for none."""
    if given is None:
        with settings.open("rb") as file:
            given = tomllib.load(file).get("tool", {}).get("deploy", {}).get("before", "")
    return shlex.split(given)


def the_service(aws):
    """(cluster, the ECS service as DescribeServices gives it), from the service stack."""
    described = stacks.outputs(stacks.require_usable(aws, stacks.SERVICE.name))
    cluster = described["ClusterName"]
    (service,) = aws.client("ecs").describe_services(
        cluster=cluster, services=[described["ServiceName"]]
    )["services"]
    return cluster, service


def run(aws, command):
    """Run `command` in a new task of the service's task definition; its exit status."""
    cluster, service = the_service(aws)
    return run_task(aws, cluster, service, service["taskDefinition"], command)


def run_before(aws, resources, tag, command):
    """Run `command` with the image `tag` before the service gets it; stop the deploy if it fails.

    The task definition is the service's, with the new image, registered in a family of its own
    (the service's family stays the history `rollback` reads) and deregistered afterwards.
    """
    if not command:
        return
    if stacks.describe(aws, stacks.SERVICE.name) is None:
        console.print(
            f"--before: not run on the first deploy, which has no service to copy yet; once the "
            f"site is up: python -m deploy run -- {shlex.join(command)}",
            style="yellow",
        )
        return
    cluster, service = the_service(aws)
    ecs = aws.client("ecs")
    current = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    described = current["taskDefinition"]
    definition = {key: described[key] for key in REGISTERED if key in described}
    for container in definition["containerDefinitions"]:
        if container["image"].startswith(resources["RepositoryUri"] + ":"):
            container["image"] = f"{resources['RepositoryUri']}:{tag}"
    family = BEFORE_FAMILY.format(family=described["family"])
    registered = ecs.register_task_definition(family=family, **definition)["taskDefinition"]
    console.print(f"Running `{shlex.join(command)}` with image {tag} before the rollout")
    unchanged = f"nothing rolled out, {stacks.SERVICE.name} runs the image it ran"
    try:
        status = run_task(aws, cluster, service, registered["taskDefinitionArn"], command)
    except Abort as stop:
        raise Abort(f"--before: {stop.message}; {unchanged}", stop.status) from None
    finally:
        ecs.deregister_task_definition(taskDefinition=registered["taskDefinitionArn"])
    if status != 0:
        raise Abort(f"--before `{shlex.join(command)}` exited with status {status}: {unchanged}")


def run_task(aws, cluster, service, task_definition, command):
    """Start the task with the service's network and capacity, follow it, return its status."""
    ecs = aws.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    container = definition["containerDefinitions"][0]
    # A service has a launch type or a capacity provider strategy, never both; so does a task.
    placement = (
        {"capacityProviderStrategy": service["capacityProviderStrategy"]}
        if service.get("capacityProviderStrategy")
        else {"launchType": service["launchType"]}
    )
    if service.get("platformVersion"):
        placement["platformVersion"] = service["platformVersion"]
    started = ecs.run_task(
        cluster=cluster,
        taskDefinition=task_definition,
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
    task = follow(ecs, cluster, task, logs)
    (ran,) = [c for c in task["containers"] if c["name"] == container["name"]]
    if ran.get("exitCode") is None:
        # It never ran: the image could not be pulled, the secrets not read, no capacity...
        reasons = [task.get("stoppedReason"), ran.get("reason")]
        raise Abort(f"task {task_id} did not run: {'; '.join(filter(None, reasons))}")
    return ran["exitCode"]


def follow(ecs, cluster, task, logs):
    """Print the task's log events as they come until it stops; the stopped task.

    A loop rather than the tasks_stopped waiter, which prints nothing until the end. Ctrl-C
    stops watching, not the task.
    """
    task_id = task["taskArn"].rpartition("/")[2]
    try:
        with console.status(f"task {task_id}: {task['lastStatus']}") as status:
            while task["lastStatus"] != "STOPPED":
                time.sleep(POLL_SECONDS)
                logs.print_new()
                (task,) = ecs.describe_tasks(cluster=cluster, tasks=[task["taskArn"]])["tasks"]
                status.update(f"task {task_id}: {task['lastStatus']}")
    except KeyboardInterrupt:
        raise Abort(
            f"Stopped watching; task {task_id} keeps running in {cluster} (`make logs` shows "
            "its output)",
            130,
        ) from None
    # awslogs sends what the container wrote last as it stops: it may arrive a moment later.
    time.sleep(POLL_SECONDS)
    logs.print_new()
    return task


class LogStream:
    """The task's awslogs stream (<prefix>/<container>/<task id>), printed as it grows."""

    def __init__(self, client, container, task_id):
        options = container["logConfiguration"]["options"]
        self.client = client
        self.group = options["awslogs-group"]
        self.stream = f"{options['awslogs-stream-prefix']}/{container['name']}/{task_id}"
        self.token = None

    def print_new(self):
        # GetLogEvents has no paginator: a page's nextForwardToken comes back unchanged at the end.
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
                    return  # the container has written nothing yet
                raise
            for event in page["events"]:
                console.print(event["message"].rstrip("\n"), markup=False, highlight=False)
            if page["nextForwardToken"] == self.token:
                return
            self.token = page["nextForwardToken"]


def refuse_no_command(argv):
    """The command after `run --`; one line and exit 2 without one."""
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        raise Abort(
            "run needs a command after --, e.g. python -m deploy run -- flask --app app routes",
            USAGE,
        )
    return command
