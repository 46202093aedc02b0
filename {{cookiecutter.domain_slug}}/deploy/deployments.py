"""The service's ECS deployment in plain words while `up` runs: which revision takes what share of
the traffic, the bake time left, why ECS rolled it back (ECS API Reference, ServiceDeployment)."""

import time
from datetime import UTC, datetime

from deploy import stacks
from deploy.cost import STRATEGIES
from deploy.errors import USAGE, Abort
from deploy.ui import console

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


class Follower:
    """Prints each change of the service's newest deployment, from the moment it is made."""

    def __init__(self, aws):
        self.aws = aws
        self.since = datetime.now(UTC)
        self.shown = None
        self.stage_seen = {}  # (stage, share) -> when this follower first saw it

    def latest(self, service_arn):
        """The service's newest deployment started since this follower was made, or None."""
        ecs = self.aws.client("ecs")
        cluster = service_arn.split("/")[-2]
        briefs = ecs.list_service_deployments(cluster=cluster, service=service_arn)
        mine = [b for b in briefs["serviceDeployments"] if b["createdAt"] >= self.since]
        if not mine:
            return None
        newest = max(mine, key=lambda brief: brief["createdAt"])
        described = ecs.describe_service_deployments(
            serviceDeploymentArns=[newest["serviceDeploymentArn"]]
        )
        return described["serviceDeployments"][0]

    def line(self, deployment):
        status, stage = deployment["status"], deployment.get("lifecycleStage")
        if status in ROLLED_BACK:
            return f"Deployment rolled back ({status}): {why_rolled_back(deployment)}"
        if status in ENDED:
            return f"Deployment {status}: the new revision serves the site"
        words = [STAGES.get(stage, stage or status)]
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

    def show(self, deployment):
        """Print the deployment's state if it changed since last printed; True once it ended."""
        line = self.line(deployment)
        if line != self.shown:
            self.shown = line
            style = "red" if deployment["status"] in ROLLED_BACK else None
            console.print(line, style=style, markup=False)
        return deployment["status"] in ENDED

    def on_poll(self, watcher):
        """A StackWatcher hook: while CloudFormation updates the service, its deployment."""
        if not any(kind == SERVICE for kind, _ in watcher.in_progress.values()):
            return
        arns = stacks.physical_ids(self.aws, watcher.stack_id, SERVICE)
        deployment = self.latest(arns[0]) if arns else None
        if deployment:
            self.show(deployment)

    def to_the_end(self, stack):
        """Follow the deployment the stack's update started until ECS ends it (CloudFormation
        has waited for it already on AWS); a rollback exits non-zero with ECS's reason."""
        deployment = self.latest(stacks.physical_ids(self.aws, stack["StackId"], SERVICE)[0])
        while deployment and not self.show(deployment):
            time.sleep(POLL_SECONDS)
            deployment = self.latest(deployment["serviceArn"])
        if deployment and deployment["status"] in ROLLED_BACK:
            raise Abort(
                f"{stacks.SERVICE.name}: ECS rolled the deployment back and the site runs the "
                f"revision before it: {why_rolled_back(deployment)}"
            )
