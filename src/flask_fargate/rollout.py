"""What the service stack runs: the parameters every change of it takes, and its image history."""

import time
from datetime import UTC, datetime

from flask_fargate import deployments, host, own_traffic, secrets, stacks
from flask_fargate.deployments import deploy_service
from flask_fargate.errors import Abort
from flask_fargate.ui import console

# Tagged on each task definition revision a deploy rolled out: the history `rollback` reads.
ROLLED_OUT = "deploy:rolled-out"
# A service deployment's statuses while ECS still works on it (ECS API Reference,
# ServiceDeployment: PENDING, IN_PROGRESS, then one that ends it).
UNFINISHED = {"PENDING", "IN_PROGRESS"}
# What keeps running when the tool stops following a rollout, and what to do.
CARRIES_ON = (
    "Stopped following the rollout. ECS carries on with it (and CloudFormation with the service "
    "stack's update, if it had not ended): `make status` (flask-fargate status) shows where it "
    "is, the next `make deploy` follows it to its end first, and `flask-fargate rollback` goes "
    "back to the image before once it has ended."
)


# The resources stack's outputs that service_parameters passes to the service stack.
OUTPUTS_TAKEN = (*stacks.FROM_RESOURCES, "SecretsArn")


def service_parameters(aws, resources, tag):
    """The service stack's parameters that only the tool sets: the image, the resources stack's
    outputs (a joining site's subnets: its host's), and the secret with its current version (a
    new version rolls the tasks)."""
    arn = resources.get("SecretsArn", "")  # none in a resources stack made by an older template
    return {
        "ImageTag": tag,
        **stacks.service_inputs(resources),
        **host.task_network(aws, resources),
        "SecretsArn": arn,
        "SecretsVersion": secrets.current_version(aws, arn),
    }


def roll(aws, tag, confirm, **parameters):
    """Update the service stack to run `tag` with the current secrets and `parameters`, through a
    change set like `up`'s, keeping every other parameter; returns the stack."""
    catch_up(aws)
    resources_stack = stacks.require_usable(aws, stacks.resources().name)
    resources = stacks.outputs(resources_stack)
    parameters = {**service_parameters(aws, resources, tag), **parameters}
    values = stacks.planned_values(aws, stacks.service(), parameters)
    own_traffic.refuse_foreign_targets(aws, resources_stack, values)
    return deploy(aws, parameters, confirm)


def deploy(aws, overrides, confirm, **options):
    """deploy_service, its revision tagged once rolled out; Ctrl-C while the rollout is followed
    says what keeps running and what to do."""
    try:
        stack = deploy_service(aws, overrides, confirm, **options)
    except KeyboardInterrupt:
        raise Abort(CARRIES_ON, 130) from None
    mark_rolled_out(aws, stack)
    return stack


def catch_up(aws):
    """Before the service changes again or `rollback` reads its history: an earlier deploy that
    was interrupted (Ctrl-C, a CI job cancelled) left CloudFormation's update and ECS's deployment
    running alone. Each is followed to its end, and the revision ECS then runs is tagged as rolled
    out: it ran, so `rollback` must not skip it."""
    stack = stacks.settle(aws, stacks.describe(aws, stacks.service().name))
    if stack is None or stack["StackStatus"] not in stacks.USABLE:
        return
    outputs = stacks.outputs(stack)
    if "ServiceName" not in outputs:
        return
    ecs = aws.client("ecs")
    try:
        follow_unfinished(ecs, outputs)
    except KeyboardInterrupt:
        raise Abort(CARRIES_ON, 130) from None
    (service,) = ecs.describe_services(
        cluster=outputs["ClusterName"], services=[outputs["ServiceName"]]
    )["services"]
    tags = ecs.list_tags_for_resource(resourceArn=service["taskDefinition"])["tags"]
    if not any(tag["key"] == ROLLED_OUT for tag in tags):  # its first roll-out's time stays
        tag_rolled_out(aws, service["taskDefinition"])


def unfinished(ecs, outputs):
    """The ARNs of the service's deployments that ECS has not ended (the service stack's
    outputs name the service)."""
    briefs = ecs.list_service_deployments(
        cluster=outputs["ClusterName"], service=outputs["ServiceName"]
    )["serviceDeployments"]
    return [brief["serviceDeploymentArn"] for brief in briefs if brief["status"] in UNFINISHED]


def follow_unfinished(ecs, outputs):
    """Follow the service's deployments that ECS has not ended, saying so first."""
    arns = unfinished(ecs, outputs)
    if not arns:
        return
    console.print(
        f"{stacks.service().name}: ECS is still rolling out a deployment an earlier deploy "
        "started; following it to its end first",
        style="yellow",
    )
    follower = deployments.Follower(None)
    shown = None
    while arns:
        found = ecs.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"]
        for deployment in found:
            line = follower.line(deployment)
            if line != shown:
                console.print(line)
                shown = line
        arns = [d["serviceDeploymentArn"] for d in found if d["status"] in UNFINISHED]
        if arns:
            time.sleep(deployments.POLL_SECONDS)


def mark_rolled_out(aws, service_stack):
    """Tag the task definition revision the service stack now runs, once its deploy succeeded.

    A failed deploy leaves a revision too (CloudFormation deregisters it as it rolls back, and
    ECS keeps it describable), which the revisions' numbers alone cannot tell from one that ran.
    ECS's service deployments would tell them apart, but ECS keeps their last 90 days only
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html), and
    the revision a site ran before may be older; a tag lasts as long as the revision.
    """
    tag_rolled_out(aws, stacks.outputs(service_stack)["TaskDefinitionArn"])


def tag_rolled_out(aws, task_definition_arn):
    now = datetime.now(UTC).isoformat(timespec="seconds")
    aws.client("ecs").tag_resource(
        resourceArn=task_definition_arn, tags=[{"key": ROLLED_OUT, "value": now}]
    )


def image_tag(task_definition):
    """The tag of the task definition's first container image (the site's one container)."""
    return task_definition["containerDefinitions"][0]["image"].rpartition(":")[2]


def previous_revision(aws, task_definition_arn):
    """The revision (as DescribeTaskDefinition gives it) that ran the image the service ran before
    the one of `task_definition_arn`, or None.

    Read from the task definition's family: CloudFormation registers a revision for every change
    of the task definition and deregisters the one it replaces, and ECS keeps deregistered
    (INACTIVE) revisions describable. Only revisions below the current one that a deploy rolled
    out (tagged ROLLED_OUT) count, newest first: a failed deploy's revision may sit below the
    current one once a later deploy succeeded. The first whose image differs is the one before.
    (ECR's push dates would name images pushed but never run, or the failed image a rollback
    just left; CloudFormation keeps no earlier parameter values.)
    """
    ecs = aws.client("ecs")
    family, _, revision = task_definition_arn.rpartition("/")[2].rpartition(":")
    current = ecs.describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"]
    paginator = ecs.get_paginator("list_task_definitions")
    earlier = sorted(
        (
            int(arn.rpartition(":")[2])
            for status in ("ACTIVE", "INACTIVE")
            for page in paginator.paginate(familyPrefix=family, status=status)
            for arn in page["taskDefinitionArns"]
            # familyPrefix is a prefix: <family>-before, the one-off tasks', starts the same
            if arn.rpartition("/")[2].rpartition(":")[0] == family
        ),
        reverse=True,
    )
    for number in (n for n in earlier if n < int(revision)):
        described = ecs.describe_task_definition(
            taskDefinition=f"{family}:{number}", include=["TAGS"]
        )
        rolled_out = any(tag["key"] == ROLLED_OUT for tag in described.get("tags", []))
        if rolled_out and image_tag(described["taskDefinition"]) != image_tag(current):
            return described["taskDefinition"]
    return None
