"""What the service stack runs: the parameters every change of it takes, and its image history."""

from deploy import secrets, stacks


def service_parameters(aws, resources, tag):
    """The service stack's parameters that only the tool sets: the image, the resources stack's
    outputs, and the secret with its current version (a new version rolls the tasks)."""
    arn = resources.get("SecretsArn", "")  # none in a resources stack made by an older template
    return {
        "ImageTag": tag,
        **stacks.service_inputs(resources),
        "SecretsArn": arn,
        "SecretsVersion": secrets.current_version(aws, arn),
    }


def roll(aws, tag, confirm):
    """Update the service stack to run `tag` with the current secrets, through a change set like
    `up`'s, keeping every other parameter; returns the stack."""
    resources = stacks.outputs(stacks.require_usable(aws, stacks.RESOURCES.name))
    return stacks.deploy(aws, stacks.SERVICE, service_parameters(aws, resources, tag), confirm)


def image_tag(task_definition):
    """The tag of the task definition's first container image (the site's one container)."""
    return task_definition["containerDefinitions"][0]["image"].rpartition(":")[2]


def previous_tag(aws, task_definition_arn):
    """The image the service ran before the one of `task_definition_arn`, or None.

    Read from the task definition's family: CloudFormation registers a revision for every change
    of the task definition and deregisters the one it replaces, and ECS keeps deregistered
    (INACTIVE) revisions describable. Revisions above the current one are deploys that were
    rolled back, so only lower ones count; the first whose image differs is the one before.
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
        described = ecs.describe_task_definition(taskDefinition=f"{family}:{number}")
        if image_tag(described["taskDefinition"]) != image_tag(current):
            return image_tag(described["taskDefinition"])
    return None
