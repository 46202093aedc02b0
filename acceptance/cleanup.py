"""What makes a run safe: the account it runs in, what it will create and cost, and removing
everything an acceptance run made (its own now, or what an interrupted run left)."""

import os
import signal
from dataclasses import replace

from acceptance.harness import PREFIX
from flask_fargate import cost

ACCOUNT_VARIABLE = "FLASK_FARGATE_ACCEPTANCE_ACCOUNT"
STACK_TAG = "aws:cloudformation:stack-name"  # CloudFormation's own tag on what a stack makes
ROUNDS = 4  # a host's stack goes once its joining sites' are gone: a round each


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
        site = cost.site_from_answers({**DEFAULTS, **answers}, alarms=4, secrets=1)
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


DEFAULTS = {
    "nat_gateways": "none",
    "cpu": "256",
    "memory": "512",
    "cpu_architecture": "x86_64",
    "capacity": "on_demand",
    "dns": "external",
    "hosted_zone_id": "",
}


def leftovers(aws, prefix=PREFIX):
    """(stack names, tagged resource ARNs) whose names start with `prefix`."""
    cloudformation = aws.cloudformation
    stacks = [
        summary["StackName"]
        for page in cloudformation.get_paginator("list_stacks").paginate()
        for summary in page["StackSummaries"]
        if summary["StackName"].startswith(prefix) and summary["StackStatus"] != "DELETE_COMPLETE"
    ]
    tagging = aws.client("resourcegroupstaggingapi")
    arns = [
        mapping["ResourceARN"]
        for page in tagging.get_paginator("get_resources").paginate(TagFilters=[{"Key": STACK_TAG}])
        for mapping in page["ResourceTagMappingList"]
        for tag in mapping["Tags"]
        if tag["Key"] == STACK_TAG and tag["Value"].startswith(prefix)
    ]
    # Buckets by name too: the tagging API may not list a bucket a stack kept (the stand-in's).
    buckets = [
        f"arn:aws:s3:::{bucket['Name']}"
        for bucket in aws.client("s3").list_buckets()["Buckets"]
        if bucket["Name"].startswith(prefix)
    ]
    return sorted(stacks), sorted({*arns, *buckets})


def remove(aws, prefix=PREFIX):
    """Delete every stack and tagged resource under `prefix`; what could not go, as lines."""
    with uninterrupted():
        for _ in range(ROUNDS):
            stacks, _ = leftovers(aws, prefix)
            if not stacks:
                break
            # Services before the resources they run on; a host's stack fails while joined.
            for name in sorted(stacks, key=lambda name: not name.endswith("-service")):
                delete_stack(aws, name)
        stacks, arns = leftovers(aws, prefix)
        for arn in arns:
            delete_resource(aws, arn)
        stacks, arns = leftovers(aws, prefix)
    return [f"stack {name}" for name in stacks] + [f"resource {arn}" for arn in arns]


def delete_stack(aws, name):
    cloudformation = aws.cloudformation
    resources = cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
    for page in resources:
        for resource in page["StackResourceSummaries"]:
            if (
                resource["ResourceType"] == "AWS::ECR::Repository"
                and "PhysicalResourceId" in resource
            ):
                empty_repository(aws, resource["PhysicalResourceId"])
    print(f"cleanup: deleting stack {name}", flush=True)
    cloudformation.delete_stack(StackName=name)
    try:
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180}
        )
    except Exception as error:  # the next round, or the report, says what stayed
        print(f"cleanup: {name} not deleted yet: {error}", flush=True)


def empty_repository(aws, repository):
    ecr = aws.client("ecr")
    try:
        for page in ecr.get_paginator("list_images").paginate(repositoryName=repository):
            if page["imageIds"]:
                ecr.batch_delete_image(repositoryName=repository, imageIds=page["imageIds"])
    except ecr.exceptions.RepositoryNotFoundException:
        pass


def delete_resource(aws, arn):
    """The resources a stack keeps after its deletion (DeletionPolicy Retain), by service."""
    service = arn.split(":")[2]
    print(f"cleanup: deleting {arn}", flush=True)
    try:
        if service == "secretsmanager":
            aws.client("secretsmanager").delete_secret(
                SecretId=arn, ForceDeleteWithoutRecovery=True
            )
        elif service == "s3":
            bucket = arn.split(":")[-1]
            s3 = aws.client("s3")
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                objects = [
                    {"Key": o["Key"], "VersionId": o["VersionId"]}
                    for o in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if objects:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
            s3.delete_bucket(Bucket=bucket)
        elif ":internet-gateway/" in arn:
            ec2, gateway = aws.client("ec2"), arn.split("/")[-1]
            (described,) = ec2.describe_internet_gateways(InternetGatewayIds=[gateway])[
                "InternetGateways"
            ]
            for attachment in described.get("Attachments", []):
                ec2.detach_internet_gateway(InternetGatewayId=gateway, VpcId=attachment["VpcId"])
            ec2.delete_internet_gateway(InternetGatewayId=gateway)
        elif service == "logs":
            aws.client("logs").delete_log_group(
                logGroupName=arn.split(":log-group:")[1].removesuffix(":*")
            )
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
    ours = [r for page in pages for r in page["ResourceRecordSets"] if prefix in r["Name"]]
    if ours:
        changes = [{"Action": "DELETE", "ResourceRecordSet": record} for record in ours]
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return []
