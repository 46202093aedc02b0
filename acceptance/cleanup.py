"""What makes a run safe: the account it runs in, what it will create and cost, and removing
everything an acceptance run made (its own now, or what an interrupted run left)."""

import contextlib
import os
import signal
import time
from dataclasses import replace

from acceptance.harness import PREFIX
from flask_fargate import cost

ACCOUNT_VARIABLE = "FLASK_FARGATE_ACCEPTANCE_ACCOUNT"
STACK_TAG = "aws:cloudformation:stack-name"  # CloudFormation's own tag on what a stack makes
ROUNDS = 2  # a second round for a stack whose deletion failed once
SETTLE_POLL = 15  # seconds between two looks at a stack in the middle of an operation


class Refused(Exception):
    """The run must not start."""


def require_account(aws):
    """The account the credentials belong to, when it is the one the caller named."""
    expected = os.environ.get(ACCOUNT_VARIABLE, "")
    actual = aws.client("sts").get_caller_identity()["Account"]
    if expected != actual:
        raise Refused(
            f"{ACCOUNT_VARIABLE}={expected!r}, but the credentials are account {actual}: set it "
            "to the account this run may create resources in (and pays for)"
        )
    return actual


def estimate(sites, hours, prices=None):
    """(USD, lines) for the sites running `hours`, every task doubled throughout (a blue/green
    deploy runs two sets): more than a run costs, from the tool's prices (cost.py)."""
    prices = prices or cost.load_prices()
    total, lines = 0.0, []
    for name, answers in sites.items():
        # Alarms: the service stack's five at most (no autoscaling: max_count is desired_count).
        site = cost.site_from_answers({**DEFAULTS, **answers}, alarms=5, secrets=1)
        monthly = sum(cost.monthly_cost(replace(site, tasks=2 * site.tasks), prices).values())
        usd = monthly / cost.HOURS_PER_MONTH * hours
        total += usd
        shared = (
            "on site a's load balancer" if answers.get("host_site") else "its own load balancer"
        )
        lines.append(
            f"site {name}: {answers['deploy_strategy']}, {answers['desired_count']} tasks "
            f"({answers.get('capacity', 'on_demand')}), {shared}: at most ${usd:.2f}"
        )
    return round(total, 2), lines


# The answers the estimate needs that the sites leave at cookiecutter.json's defaults.
DEFAULTS = dict(nat_gateways="none", cpu="256", memory="512", cpu_architecture="x86_64")
DEFAULTS |= dict(capacity="on_demand", dns="external", hosted_zone_id="")


def leftovers(aws, prefix=PREFIX):
    """(stack names, ARNs of what stacks keep on purpose) under `prefix`, that exist. The stacks
    are the record of everything else: CloudFormation deletes what it made with them."""
    stacks = [
        summary["StackName"]
        for page in aws.cloudformation.get_paginator("list_stacks").paginate()
        for summary in page["StackSummaries"]
        if summary["StackName"].startswith(prefix) and summary["StackStatus"] != "DELETE_COMPLETE"
    ]
    # The secret's name is its logical id's, not the stack's: found by CloudFormation's tag.
    secrets = tagged(aws, prefix, ["secretsmanager:secret"])
    # The bucket's is the stack's, and the stand-in does not tag it.
    buckets = [
        f"arn:aws:s3:::{bucket['Name']}"
        for bucket in aws.client("s3").list_buckets()["Buckets"]
        if bucket["Name"].startswith(prefix)
    ]
    return sorted(stacks), sorted(arn for arn in {*secrets, *buckets} if exists(aws, arn))


def tagged(aws, prefix, types=()):
    """ARNs the tagging API lists with CloudFormation's stack tag under `prefix`. It lists
    "tagged or previously tagged" resources (GetResources), deleted ones too for a while
    (aws/aws-sdk#302): what it lists may be gone."""
    pages = aws.client("resourcegroupstaggingapi").get_paginator("get_resources")
    return [
        mapping["ResourceARN"]
        for page in pages.paginate(TagFilters=[{"Key": STACK_TAG}], ResourceTypeFilters=types)
        for mapping in page["ResourceTagMappingList"]
        for tag in mapping["Tags"]
        if tag["Key"] == STACK_TAG and tag["Value"].startswith(prefix)
    ]


def exists(aws, arn):
    """Whether a kept secret or bucket is still there (the tagging API may list it after)."""
    if ":secretsmanager:" in arn:
        secrets = aws.client("secretsmanager")
        try:
            return "DeletedDate" not in secrets.describe_secret(SecretId=arn)
        except secrets.exceptions.ResourceNotFoundException:
            return False
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=arn.rpartition(":")[2])
    except s3.exceptions.ClientError:
        return False
    return True


def remove(aws, prefix=PREFIX):
    """Delete every stack and tagged resource under `prefix`; what could not go, as lines."""
    with uninterrupted():
        try:
            for _ in range(ROUNDS):
                stacks, _ = leftovers(aws, prefix)
                # Services first, then sites on another's load balancer, then their hosts.
                for name in sorted(stacks, key=lambda name: deletion_rank(aws, name)):
                    delete_stack(aws, name)
            for arn in leftovers(aws, prefix)[1]:
                delete_resource(aws, arn)
            stacks, arns = leftovers(aws, prefix)
        except Exception as error:  # the run's report must still be written, and say so
            return [f"cleanup failed ({error}): run again to remove what is left under {prefix}"]
    return [f"stack {name}" for name in stacks] + [f"resource {arn}" for arn in arns]


def deletion_rank(aws, name):
    """CloudFormation refuses to delete a stack whose exports another stack imports."""
    if name.endswith("-service"):
        return 0
    (stack,) = aws.cloudformation.describe_stacks(StackName=name)["Stacks"]
    joins = any(
        p["ParameterKey"] == "HostSite" and p.get("ParameterValue")
        for p in stack.get("Parameters", [])
    )
    return 1 if joins else 2


def delete_stack(aws, name):
    cloudformation = aws.cloudformation
    try:
        settle(cloudformation, name)
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
        for page in pages:
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] == "AWS::ECR::Repository":
                    empty_repository(aws, resource.get("PhysicalResourceId", ""))
        print(f"cleanup: deleting stack {name}", flush=True)
        cloudformation.delete_stack(StackName=name)
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=name, WaiterConfig={"Delay": 15, "MaxAttempts": 120}
        )
    except Exception as error:  # the next round, or the report, says what stayed
        print(f"cleanup: {name} not deleted yet: {error}", flush=True)


def settle(cloudformation, name, seconds=3600):
    """Wait until the stack is in no operation CloudFormation can delete it from (an update an
    interrupted deploy left going is cancelled: it rolls back first)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
        status = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS":
            return
        if status == "UPDATE_IN_PROGRESS":
            with contextlib.suppress(cloudformation.exceptions.ClientError):
                cloudformation.cancel_update_stack(StackName=name)
        print(f"cleanup: {name} is {status}; waiting", flush=True)
        time.sleep(SETTLE_POLL)


def empty_repository(aws, repository):
    ecr = aws.client("ecr")
    try:
        for page in ecr.get_paginator("list_images").paginate(repositoryName=repository):
            if page["imageIds"]:
                ecr.batch_delete_image(repositoryName=repository, imageIds=page["imageIds"])
    except ecr.exceptions.RepositoryNotFoundException:
        pass


def delete_resource(aws, arn):
    """A secret (without a recovery window) or a bucket (emptied first) a stack kept."""
    print(f"cleanup: deleting {arn}", flush=True)
    try:
        if ":secretsmanager:" in arn:
            secrets = aws.client("secretsmanager")
            secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
            return
        bucket, s3 = arn.rpartition(":")[2], aws.client("s3")
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            versions = page.get("Versions", []) + page.get("DeleteMarkers", [])
            if versions:
                objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
        s3.delete_bucket(Bucket=bucket)
    except Exception as error:  # reported by the caller as left behind
        print(f"cleanup: {arn}: {error}", flush=True)


class uninterrupted:
    """Ctrl-C and SIGTERM during the cleanup say they are ignored: stopping half way would leave
    resources behind."""

    def __enter__(self):
        def ignore(signum, frame):
            print(
                "cleanup: still deleting; interrupting now would leave resources behind", flush=True
            )

        self.previous = {s: signal.signal(s, ignore) for s in (signal.SIGINT, signal.SIGTERM)}

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def remove_records(aws, zone_id, prefix):
    """The records under the run's names in the test zone: a certificate's validation record
    outlives its stack there (cloudformation-coverage-roadmap#837)."""
    route53 = aws.client("route53")
    pages = route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
    with uninterrupted():
        try:
            ours = [r for page in pages for r in page["ResourceRecordSets"] if prefix in r["Name"]]
            if ours:
                changes = [{"Action": "DELETE", "ResourceRecordSet": record} for record in ours]
                batch = {"Changes": changes}
                route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)
        except Exception as error:  # the report must still be written, and say so
            return [f"records under {prefix} in the zone {zone_id}: {error}"]
    return []
