"""The service's ECS deployment in plain words while `up` runs: which revision takes what share of
the traffic, the bake time left, why ECS rolled it back (ECS API Reference, ServiceDeployment)."""

import math
import time
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from flask_fargate import stacks
from flask_fargate.cost import STRATEGIES
from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import console

POLL_SECONDS = 5
# The service stack's BakeMinutes MaxValue: a LINEAR deploy bakes 4 times this, within the GitHub
# deploy job's timeout and credentials (.github/workflows/deploy.yml).
MAX_BAKE_MINUTES = 30
SERVICE = "AWS::ECS::Service"
ENDED = {"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}
ROLLED_BACK = {
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
}
STAGES = {
    "RECONCILE_SERVICE": "getting the service ready",
    "PRE_SCALE_UP": "about to start the new tasks",
    "SCALE_UP": "starting the new tasks",
    "POST_SCALE_UP": "the new tasks are up",
    "TEST_TRAFFIC_SHIFT": "the new tasks answer test traffic only",
    "POST_TEST_TRAFFIC_SHIFT": "the new tasks answered test traffic",
    "PRODUCTION_TRAFFIC_SHIFT": "moving the traffic",
    "POST_PRODUCTION_TRAFFIC_SHIFT": "the traffic has moved",
    "BAKE_TIME": "watching the alarms, the old tasks kept to go back to",
    "CLEAN_UP": "stopping the old tasks",
}
# A first deployment's, which has no earlier revision: no old tasks to keep or stop.
FIRST_STAGES = {**STAGES, "BAKE_TIME": "watching the alarms", "CLEAN_UP": "finishing"}


# The strategies ECS gives no circuit breaker: "Both methods only support rolling update
# deployment and blue/green deployment types" ("Amazon ECS deployment failure detection":
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-failure-detection.html),
# so the service stack turns it off for them (HasCircuitBreaker). The tool stands in for it.
WITHOUT_BREAKER = {"CANARY", "LINEAR"}
# How a task that never served stops: its image or a secret could not be had, or its app exited
# (stopCode in the ECS API Reference, Task). Tasks stopped by ECS (failed health checks, a scale
# in) are the unhealthy-hosts alarm's.
NEVER_SERVED = {"TaskFailedToStart", "EssentialContainerExited"}


def breaker_threshold(desired_count):
    """ECS's circuit breaker's threshold: 0.5 x the desired count, at least 3 and at most 200
    (ServiceDeploymentCircuitBreaker, ECS API Reference:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html)."""
    return min(max(math.ceil(desired_count * 0.5), 3), 200)


def refuse_unknown_strategy(values):
    """One line, before anything changes, for a DeploymentStrategy ECS does not have (AWS would
    refuse it only at the service stack, after the resources stack's update)."""
    strategy = values["DeploymentStrategy"]
    if strategy not in STRATEGIES:
        raise Abort(
            f"DeploymentStrategy {strategy}: not a strategy; expected {', '.join(STRATEGIES)} "
            f"(the answers' words in capitals, e.g. --set DeploymentStrategy={STRATEGIES[2]})",
            USAGE,
        )


def refuse_a_bake_ci_cannot_wait(values):
    """One line, before anything changes, for a BakeMinutes the service stack refuses (AWS would
    refuse it only at the service stack, after the resources stack's update)."""
    bake = int(values["BakeMinutes"])
    if not 0 <= bake <= MAX_BAKE_MINUTES:
        raise Abort(
            f"BakeMinutes {bake}: expected 0 to {MAX_BAKE_MINUTES} (a LINEAR deploy waits it 4 "
            "times, and CI's deploy job and its credentials last 3 hours)",
            USAGE,
        )


def alternate_share(aws, outputs):
    """The weight the production rule gives AlternateTargetGroup now (0 without the rule)."""
    rule = outputs.get("ProductionListenerRuleArn")
    if not rule:
        return 0
    (found,) = aws.client("elbv2").describe_rules(RuleArns=[rule])["Rules"]
    groups = [
        g for a in found["Actions"] for g in a.get("ForwardConfig", {}).get("TargetGroups", [])
    ]
    alternate = outputs["AlternateTargetGroupArn"]
    return sum(g.get("Weight", 0) for g in groups if g["TargetGroupArn"] == alternate)


def refuse_stranding_the_traffic(
    aws, resources_stack, resources_values, service_values, resources_change=True
):
    """One line, before anything changes, for a change that would send the traffic back to
    TargetGroup while ECS serves the site from AlternateTargetGroup: ECS owns the production
    rule's weights after a shifting deploy, and CloudFormation writes its own (1 and 0) into a
    rule it replaces, EnableHttps's (aws-cdk#36649, containers-roadmap#2853); a ROLLING service
    puts its tasks in TargetGroup only. Another deploy with the shifting strategy starts its new
    tasks in the group not serving, TargetGroup here, and moves the traffic there ("Amazon ECS
    blue/green service deployments workflow":
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html)."""
    if stacks.is_new(resources_stack):
        return
    now = stacks.parameters_of(resources_stack)
    strategy = stacks.parameters_of(stacks.describe(aws, stacks.service().name)).get(
        "DeploymentStrategy", "ROLLING"
    )
    # A new listener (EnableHttps) replaces the rule; new host names (DomainName), or a template
    # whose rule matches otherwise, change it: either way CloudFormation writes its weights.
    changes = [
        f"{key} {resources_values[key]}"
        for key in RULE_PARAMETERS
        if key in resources_values and resources_values[key] != now.get(key)
    ]
    if resources_change:
        changed = rule_changes(
            stacks.deployed_template(aws, resources_stack["StackId"]),
            stacks.decode(stacks.resources().body()),
        )
        if changed:
            changes.append(f"ProductionRule's {', '.join(changed)} (this template's update)")
    if strategy != "ROLLING" and service_values["DeploymentStrategy"] == "ROLLING":
        changes.append("DeploymentStrategy ROLLING")
    if changes and alternate_share(aws, stacks.outputs(resources_stack)):
        raise Abort(
            f"{', '.join(changes)}: the site is served from AlternateTargetGroup, and this change "
            "would send its traffic to TargetGroup, which has no tasks; first deploy once more "
            f"as {strategy} (e.g. `up --tag` a new image), which moves the traffic to "
            "TargetGroup, then make the change",
            USAGE,
        )


# The resources stack's parameters ProductionRule reads: its listener (EnableHttps picks it, a
# joining site's host gives it), host names and priority.
RULE_PARAMETERS = ("EnableHttps", "HostListenerArn", "DomainName", "ListenerRulePriority")


def rule_changes(deployed, template):
    """What differs in ProductionRule between two templates: the names of its properties
    (Actions, Conditions, ListenerArn, Priority...) and other attributes that changed. Any of
    them makes CloudFormation update the rule, and write its weights."""
    before, after = (
        t.get("Resources", {}).get("ProductionRule") or {} for t in (deployed, template)
    )
    old, new = before.get("Properties", {}), after.get("Properties", {})
    changed = [key for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
    others = (set(before) | set(after)) - {"Properties"}
    return changed + [key for key in sorted(others) if before.get(key) != after.get(key)]


def traffic(deployment):
    """Who takes what share of the production traffic, or None when nothing shifts (ROLLING)."""
    target = deployment.get("targetServiceRevision", {})
    share = target.get("requestedProductionTrafficWeight")
    if share is None:
        return None
    if not deployment.get("sourceServiceRevisions"):
        return "the new revision takes all the traffic (no earlier one)"
    return f"new revision {share:g} % of the traffic, old revision {100 - share:g} %"


def bake_minutes(deployment):
    """The bake of the stage the deployment is in: a canary's or linear step's, or the last."""
    configuration = deployment.get("deploymentConfiguration", {})
    share = deployment.get("targetServiceRevision", {}).get("requestedProductionTrafficWeight")
    if deployment.get("lifecycleStage") == "BAKE_TIME":
        return configuration.get("bakeTimeInMinutes")
    if deployment.get("lifecycleStage") == "PRODUCTION_TRAFFIC_SHIFT" and share not in (None, 100):
        step = configuration.get("canaryConfiguration") or configuration.get("linearConfiguration")
        if step:
            return step.get("canaryBakeTimeInMinutes", step.get("stepBakeTimeInMinutes"))
    return None


def why_rolled_back(deployment):
    """ECS's reason, with the alarms that fired or the circuit breaker's count."""
    reason = deployment.get("rollback", {}).get("reason") or deployment.get("statusReason")
    fired = deployment.get("alarms", {}).get("triggeredAlarmNames", [])
    breaker = deployment.get("deploymentCircuitBreaker", {})
    causes = []
    if fired:
        causes.append(f"alarm {', '.join(fired)} fired")
    if breaker.get("status") == "TRIGGERED":
        causes.append(
            f"new tasks failed to start or stay healthy {breaker.get('failureCount')} times "
            f"(the circuit breaker stops at {breaker.get('threshold')})"
        )
    return "; ".join(causes + ([reason] if reason else [])) or "ECS gave no reason"


def deploy_service(aws, overrides, confirm, **options):
    """stacks.deploy of the service stack, following the ECS deployment it starts to its end; a
    rollback by ECS exits non-zero with ECS's reason, also when CloudFormation failed the update
    for it."""
    follower = Follower(aws)
    try:
        stack = stacks.deploy(
            aws, stacks.service(), overrides, confirm, on_poll=follower.on_poll, **options
        )
    except Abort:
        follower.why_it_failed()
        raise
    follower.to_the_end(stack)
    return stack


class Follower:
    """Prints each change of the service deployment a stack operation started, from its start.

    The first deployment started since the operation began is this deploy's; a later one is
    CloudFormation's rollback: when ECS rolls a deployment back, CloudFormation fails the
    service's update and rolls the stack back (UPDATE_ROLLBACK_COMPLETE), which updates the
    service once more ("How CloudWatch alarms detect Amazon ECS deployment failures":
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html;
    AlarmBehavior in the CDK reference:
    https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_ecs.AlarmBehavior.html).
    """

    def __init__(self, aws):
        self.aws = aws
        self.watcher = None  # the StackWatcher of the operation followed
        self.since = None  # its first stack event: CloudFormation's clock, not ours
        self.shown = []  # the lines last printed, this deploy's first
        self.stage_seen = {}  # (stage, share) -> when this follower first saw it
        self.tripped = False  # the tool's circuit breaker cancelled the update

    def service_arn(self):
        arns = stacks.physical_ids(self.aws, self.watcher.stack_id, SERVICE) if self.since else []
        return arns[0] if arns else None

    def deployments(self):
        """This operation's deployments, oldest first, as DescribeServiceDeployments gives them."""
        arn = self.service_arn()
        if not arn:
            return []
        ecs = self.aws.client("ecs")
        briefs = ecs.list_service_deployments(cluster=arn.split("/")[-2], service=arn)
        mine = [
            b["serviceDeploymentArn"]
            for b in briefs["serviceDeployments"]
            if b["createdAt"] >= self.since
        ]
        if not mine:
            return []
        described = ecs.describe_service_deployments(serviceDeploymentArns=mine)
        return sorted(described["serviceDeployments"], key=lambda d: d["createdAt"])

    def line(self, deployment, revision="the new revision"):
        status, stage = deployment["status"], deployment.get("lifecycleStage")
        if status in ROLLED_BACK:
            return f"Deployment rolled back ({status}): {why_rolled_back(deployment)}"
        if status == "STOPPED":  # by its circuit breaker, or replaced by a later deployment
            reason = deployment.get("statusReason")
            return f"Deployment STOPPED{': ' + why_rolled_back(deployment) if reason else ''}"
        if status in ENDED:
            return f"Deployment {status}: {revision} serves the site"
        stages = STAGES if deployment.get("sourceServiceRevisions") else FIRST_STAGES
        words = [stages.get(stage, stage or status)]
        shares = traffic(deployment)
        if shares:
            words.append(shares)
        bake = bake_minutes(deployment)
        if bake:
            key = (
                stage,
                deployment["targetServiceRevision"].get("requestedProductionTrafficWeight"),
            )
            seen = self.stage_seen.setdefault(key, datetime.now(UTC))
            left = bake - (datetime.now(UTC) - seen).total_seconds() / 60
            words.append(f"bake: about {max(left, 0):.0f} of {bake} min left")
        return "Deployment: " + ", ".join(words)

    def show(self):
        """Print this deploy's deployment, and CloudFormation's rollback after it, where they
        changed since last printed; returns this deploy's deployment (None before it starts)."""
        first, *later = self.deployments() or [None]
        lines = [self.line(first)] if first else []
        lines += [
            f"CloudFormation's rollback: {self.line(d, 'the revision before')}" for d in later
        ]
        for index, line in enumerate(lines):
            if index >= len(self.shown) or self.shown[index] != line:
                style = "red" if line.startswith("Deployment rolled back") else None
                console.print(line, style=style)
        self.shown = lines
        return first

    def on_poll(self, watcher):
        """A StackWatcher hook: while CloudFormation updates the service, its deployments."""
        # The last watcher is this deploy's: stacks.deploy may first follow an earlier
        # operation still running (stacks.settle), whose deployment is not this deploy's.
        if watcher is not self.watcher and watcher.events:
            self.watcher, self.since, self.shown = watcher, watcher.events[0]["Timestamp"], []
        if any(kind == SERVICE for kind, _ in watcher.in_progress.values()):
            deployment = self.show()
            if deployment and not self.tripped:
                self.break_circuit(deployment, watcher)

    def break_circuit(self, deployment, watcher):
        """ECS's circuit breaker for a CANARY or LINEAR deployment, which has none: once as many
        of the new revision's tasks stopped before they ever served as ECS's breaker tolerates,
        cancel the stack's update. Such tasks never turn unhealthy hosts (the load balancer never
        checks them), so no alarm fires and the deployment stays IN_PROGRESS until CloudFormation's
        ECS handler gives up ("an unconfigurable timeout in the range of hours":
        aws-cloudformation/cloudformation-coverage-roadmap#150), past CI's 3 hours. Cancelled,
        CloudFormation rolls the stack back, which puts the service back on its previous task
        definition; `stacks.deploy` follows that rollback as for any failed update
        ("Cancel a stack update", CloudFormation User Guide:
        https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn--stack-update-cancel.html)."""
        strategy = deployment.get("deploymentConfiguration", {}).get("strategy")
        if strategy not in WITHOUT_BREAKER or deployment["status"] != "IN_PROGRESS":
            return
        try:
            desired, stopped = self.never_served()
        except ClientError as error:
            # A deploy role made before the tool's breaker lacks ecs:ListTasks until the
            # resources stack is deployed again: the deploy goes on without the breaker.
            self.tripped = True
            console.print(
                f"{stacks.service().name}: the tool's circuit breaker is off for this deploy "
                f"({error.response['Error']['Code']}: {error.response['Error']['Message']}); "
                "`make deploy` from a workstation updates the deploy role.",
                style="yellow",
            )
            return
        threshold = breaker_threshold(desired)
        if len(stopped) < threshold:
            return
        last = max(stopped, key=lambda task: str(task.get("stoppedAt", "")))
        why = (
            f"{stacks.service().name}: {len(stopped)} new tasks stopped before they ever served "
            f"(ECS stops a ROLLING or BLUE_GREEN deploy at {threshold}; {strategy} has no circuit "
            f"breaker), the last: {last.get('stoppedReason', 'no reason given')}."
        )
        # CancelUpdateStack: "You can cancel only stacks that are in the UPDATE_IN_PROGRESS
        # state" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CancelUpdateStack.html).
        if watcher.status == "CREATE_IN_PROGRESS":
            raise Abort(
                f"{why} A first deploy cannot be cancelled: the stack's creation waits for ECS "
                "until CloudFormation gives up (hours), then rolls back. Fix the cause (`make "
                "logs` shows what the tasks wrote); once the creation has rolled back, "
                "`flask-fargate up --recreate` creates the stack again."
            )
        if watcher.status == "UPDATE_IN_PROGRESS":
            self.tripped = True
            console.print(
                f"{why} Cancelling the update: CloudFormation rolls the stack back, and the "
                "service back to the task definition before.",
                style="red",
            )
            try:
                self.aws.cloudformation.cancel_update_stack(StackName=watcher.stack_id)
            except ClientError as error:  # it left UPDATE_IN_PROGRESS since the watcher looked
                console.print(f"Not cancelled: {error.response['Error']['Message']}", style="red")

    def never_served(self):
        """The service's desired count, and its newest deployment's tasks (the new revision's)
        that stopped before they ever served. A task a service started carries "the deployment
        ID of that service" in startedBy (ECS API Reference, Task:
        https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html), which ListTasks
        takes only as its one filter, and then lists RUNNING tasks alone: so the service's
        STOPPED tasks, picked by startedBy here. ECS lists a stopped task for at least an hour
        (API Reference, ListTasks), longer than the few failed starts the threshold needs."""
        arn = self.service_arn()
        cluster = arn.split("/")[-2]
        ecs = self.aws.client("ecs")
        (service,) = ecs.describe_services(cluster=cluster, services=[arn])["services"]
        primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
        pages = ecs.get_paginator("list_tasks").paginate(
            cluster=cluster, serviceName=service["serviceName"], desiredStatus="STOPPED"
        )
        arns = [task for page in pages for task in page["taskArns"]]
        found = [
            task
            for start in range(0, len(arns), 100)  # DescribeTasks takes 100 at a time
            for task in ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + 100])[
                "tasks"
            ]
        ]
        return service["desiredCount"], [
            task
            for task in found
            if task.get("startedBy") == primary["id"] and task.get("stopCode") in NEVER_SERVED
        ]

    def why_it_failed(self):
        """After a failed stack update: ECS's reason, when it rolled this deploy's deployment
        back (CloudFormation's own message names only the service)."""
        first = self.show()
        if first and first["status"] in ROLLED_BACK:
            console.print(
                f"{stacks.service().name}: ECS rolled the deployment back, then CloudFormation "
                f"the stack: {why_rolled_back(first)}",
                style="red",
            )

    def to_the_end(self, stack):
        """Follow the deployment the stack's update started until ECS ends it (CloudFormation
        has waited for it already on AWS); a rollback exits non-zero with ECS's reason."""
        deployment = self.show()
        if deployment is None and self.since:
            # ECS deploys on a change of what its tasks run (task definition, network, load
            # balancers, capacity...), not of the desired count or the scaling range
            # ("View service history using Amazon ECS service deployments":
            # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html).
            console.print(
                f"{stacks.service().name}: no rollout: this update changed nothing ECS deploys, "
                "and the running tasks carry on"
            )
        while deployment and deployment["status"] not in ENDED:
            time.sleep(POLL_SECONDS)
            deployment = self.show()
        if deployment and deployment["status"] in ROLLED_BACK:
            raise Abort(
                f"{stacks.service().name}: ECS rolled the deployment back and the site runs the "
                f"revision before it: {why_rolled_back(deployment)}"
            )
