"""The commands of `python -m deploy`, one function each, taking the AWS session and the options."""

import re
import sys
import time
from datetime import UTC, datetime, timedelta

from deploy import image, site, stacks
from deploy.errors import USAGE, Abort
from deploy.ui import console, status_style, table

SINCE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
LOG_POLL_SECONDS = 2


def split_overrides(aws, pairs):
    """`--set KEY=VALUE` options, sorted to the stack whose template has that parameter."""
    if not pairs:
        return {stacks.RESOURCES: {}, stacks.SERVICE: {}}
    wanted = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals:
            raise Abort(f"--set {pair}: write it as KEY=VALUE, e.g. --set DesiredCount=3", USAGE)
        wanted[key] = value
    split = {}
    known = set()
    for spec in (stacks.RESOURCES, stacks.SERVICE):
        defaults, _ = stacks.template_summary(aws, spec)
        settable = set(defaults) - {"ImageTag", "ResourcesStackName"}
        split[spec] = {key: value for key, value in wanted.items() if key in settable}
        known |= settable
    for key in wanted.keys() - known:
        raise Abort(
            f"--set {key}: no such parameter; the stacks take {', '.join(sorted(known))} "
            "(the image tag is --tag)",
            USAGE,
        )
    return split


def name_servers(aws, zone_id):
    zone = aws.client("route53").get_hosted_zone(Id=zone_id)
    return zone["DelegationSet"]["NameServers"]


def print_name_servers(servers):
    console.print(f"Name servers of the hosted zone of {site.DOMAIN}:")
    for server in servers:
        console.print(f"  {server}", style="bold")


HOSTED_ZONE = "AWS::Route53::HostedZone"


def certificate_notice(aws):
    """An on_poll hook: once the certificate waits for DNS validation, say what the user must do."""
    shown = False

    def on_poll(watcher):
        nonlocal shown
        waiting = any(
            kind == "AWS::CertificateManager::Certificate"
            for kind, _ in watcher.in_progress.values()
        )
        if shown or not waiting:
            return
        shown = True
        zones = stacks.physical_ids(aws, watcher.stack_id, HOSTED_ZONE)
        if zones:
            print_name_servers(name_servers(aws, zones[0]))
            console.print(
                f"The certificate is validated through this new zone, so AWS waits until "
                f"{site.DOMAIN} is delegated to it: set these name servers at your domain's "
                "registrar now. The stack carries on by itself once they answer (minutes to a "
                "few hours); Ctrl-C only stops watching.",
                style="yellow",
            )
        else:
            console.print(
                f"The certificate waits for its DNS validation records in {site.DOMAIN}'s "
                "hosted zone to answer; usually a few minutes.",
                style="yellow",
            )

    return on_poll


def up(aws, options):
    overrides = split_overrides(aws, options.set)
    existing = stacks.describe(aws, stacks.RESOURCES.name)
    # With a usable resources stack, a missing --tag stops `up` before anything changes;
    # otherwise it is checked once the stack (and its repository) exists.
    tag_checked = bool(options.tag and existing and existing["StackStatus"] in stacks.USABLE)
    if tag_checked:
        image.require_image(aws, stacks.outputs(existing), options.tag)
    if options.service_only:
        if overrides[stacks.RESOURCES]:
            keys = ", ".join(sorted(overrides[stacks.RESOURCES]))
            raise Abort(
                f"--set {keys}: a parameter of {stacks.RESOURCES.name}, which --service-only "
                "leaves alone; deploy it with `make deploy`",
                USAGE,
            )
        resources_stack = stacks.require_usable(aws, stacks.RESOURCES.name)
    else:
        resources_stack = stacks.deploy(
            aws,
            stacks.RESOURCES,
            overrides[stacks.RESOURCES],
            recreate=options.recreate,
            on_poll=certificate_notice(aws),
        )
    resources = stacks.outputs(resources_stack)
    if options.tag:
        if not tag_checked:
            image.require_image(aws, resources, options.tag)
        tag = options.tag
    else:
        tag = image.publish(aws, resources)
    service_overrides = {**overrides[stacks.SERVICE], "ImageTag": tag}
    stacks.deploy(aws, stacks.SERVICE, service_overrides, recreate=options.recreate)
    console.print(f"\n{site.DOMAIN} runs image {tag}: {resources['SiteUrl']}", style="bold green")
    if resources.get("NameServers"):
        servers = ", ".join(resources["NameServers"].split(","))
        console.print(f"Name servers to set at the registrar of {site.DOMAIN}: {servers}")


def plan(aws, options):
    overrides = split_overrides(aws, options.set)
    stacks.plan(aws, stacks.RESOURCES, overrides[stacks.RESOURCES])
    if not stacks.outputs(stacks.describe(aws, stacks.RESOURCES.name) or {}):
        console.print(
            f"{stacks.SERVICE.name}: planned once {stacks.RESOURCES.name} exists "
            "(it imports that stack's outputs)"
        )
        return
    current = stacks.parameters_of(stacks.describe(aws, stacks.SERVICE.name))
    tag = options.tag or current.get("ImageTag") or image.source_tag()
    if not options.tag:
        console.print(f"(planned with the deployed image {tag}; `plan --tag TAG` plans another)")
    stacks.plan(aws, stacks.SERVICE, {**overrides[stacks.SERVICE], "ImageTag": tag})


def build_image(aws, options):
    resources = stacks.outputs(stacks.require_usable(aws, stacks.RESOURCES.name))
    tag = image.publish(aws, resources)
    console.print(f"Image {tag} is in ECR; deploy it with `python -m deploy up --tag {tag}`")


def status(aws, options):
    resources_stack = stacks.describe(aws, stacks.RESOURCES.name)
    service_stack = stacks.describe(aws, stacks.SERVICE.name)
    if resources_stack is None and service_stack is None:
        stacks.require(aws, stacks.RESOURCES.name)
    rows = table("", "", title=f"{site.DOMAIN} in {aws.region}")
    rows.show_header = False
    for name, stack in (
        (stacks.RESOURCES.name, resources_stack),
        (stacks.SERVICE.name, service_stack),
    ):
        state = stack["StackStatus"] if stack else "not created"
        rows.add_row(name, f"[{status_style(state)}]{state}[/]")
    resources = stacks.outputs(resources_stack or {})
    if service_stack:
        service_rows(aws, service_stack, rows)
    if resources.get("CertificateArn"):
        rows.add_row("certificate", certificate_state(aws, resources["CertificateArn"]))
    if resources.get("SiteUrl"):
        rows.add_row("url", resources["SiteUrl"])
    console.print(rows)


def service_rows(aws, service_stack, rows):
    described = stacks.outputs(service_stack)
    rows.add_row("image", stacks.parameters_of(service_stack).get("ImageTag", "?"))
    if "ServiceName" not in described:
        return
    found = aws.client("ecs").describe_services(
        cluster=described["ClusterName"], services=[described["ServiceName"]]
    )["services"]
    if not found:
        rows.add_row("tasks", "service not found")
        return
    service = found[0]
    rows.add_row(
        "tasks",
        f"{service['runningCount']} running / {service['desiredCount']} desired / "
        f"{service['pendingCount']} pending",
    )
    for deployment in service.get("deployments", []):
        revision = deployment["taskDefinition"].rsplit(":", 1)[-1]
        rollout = deployment.get("rolloutState", "")
        reason = deployment.get("rolloutStateReason", "")
        rows.add_row(
            f"rollout ({deployment['status'].lower()})",
            f"revision {revision}: {rollout} {deployment.get('runningCount', 0)}/"
            f"{deployment.get('desiredCount', 0)} tasks {reason}".rstrip(),
        )


def certificate_state(aws, arn):
    certificate = aws.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    state = certificate["Status"]
    if state == "PENDING_VALIDATION":
        state += " (waits for the domain to be delegated to the hosted zone: `make ns`)"
    return state


def parse_since(text):
    match = re.fullmatch(r"(\d+)([smhd])", text)
    if not match:
        raise Abort(f"--since {text}: use a number and s, m, h or d, e.g. 10m or 2h", USAGE)
    return timedelta(**{SINCE_UNITS[match[2]]: int(match[1])})


def logs(aws, options):
    since = parse_since(options.since)
    group = stacks.outputs(stacks.require_usable(aws, stacks.RESOURCES.name))["LogGroupName"]
    paginator = aws.client("logs").get_paginator("filter_log_events")
    start = int((datetime.now(UTC) - since).timestamp() * 1000)
    printed = set()
    try:
        while True:
            for page in paginator.paginate(logGroupName=group, startTime=start):
                for event in page["events"]:
                    if event["eventId"] not in printed:
                        printed.add(event["eventId"])
                        start = max(start, event["timestamp"])
                        console.print(log_line(event), markup=False)
            if not options.follow:
                if not printed:
                    console.print(f"No log events in {group} in the last {options.since}.")
                return
            time.sleep(LOG_POLL_SECONDS)
    except KeyboardInterrupt:
        return


def log_line(event):
    when = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).astimezone()
    task = event["logStreamName"].rsplit("/", 1)[-1][:8]
    return f"{when:%Y-%m-%d %H:%M:%S} {task} {event['message'].rstrip()}"


def ns(aws, options):
    # Read from the stack's resources, not its outputs: the name servers matter most while the
    # stack is still being created, waiting for the certificate's DNS validation.
    stack = stacks.require(aws, stacks.RESOURCES.name)
    own_zones = stacks.physical_ids(aws, stack["StackId"], HOSTED_ZONE)
    zone = own_zones[0] if own_zones else stacks.parameters_of(stack).get("HostedZoneId")
    if not zone:
        raise Abort(
            f"{stack['StackName']} has no hosted zone yet ({stack['StackStatus']}): "
            "`make status` shows where it is",
            USAGE,
        )
    print_name_servers(name_servers(aws, zone))
    if own_zones:
        console.print(f"Set exactly these at the registrar of {site.DOMAIN}.")
    else:
        console.print(
            "The stack uses a hosted zone you already had; it is not the stack's to change."
        )


def destroy(aws, options):
    resources_stack = stacks.describe(aws, stacks.RESOURCES.name)
    service_stack = stacks.describe(aws, stacks.SERVICE.name)
    if resources_stack is None and service_stack is None:
        stacks.require(aws, stacks.RESOURCES.name)
    confirm_destroy(options.yes)
    kept = retained_resources(aws, resources_stack) if resources_stack else []
    if service_stack:
        stacks.delete(aws, service_stack)
    if resources_stack:
        empty_repository(aws, stacks.outputs(resources_stack).get("RepositoryName"))
        stacks.delete(aws, resources_stack)
    console.print(f"{site.DOMAIN}: both stacks are deleted.", style="bold")
    for logical_id, kind, physical_id in kept:
        console.print(f"Kept on purpose: {logical_id} ({kind}) {physical_id}")
    if kept:
        console.print("Delete those by hand once you no longer need them.")


def confirm_destroy(yes):
    if yes:
        return
    if not sys.stdin.isatty():
        raise Abort("destroy deletes the site: pass --yes to confirm without a terminal", USAGE)
    answer = console.input(
        f"This deletes {site.DOMAIN}'s stacks, its images and its DNS zone if the stack made "
        f"it. Type [bold]{site.DOMAIN}[/] to confirm: "
    )
    if answer.strip() != site.DOMAIN:
        raise Abort(f"Nothing deleted: {answer.strip()!r} is not {site.DOMAIN}")


def retained_resources(aws, stack):
    """(logical id, type, physical id) of the resources whose DeletionPolicy keeps them."""
    from cfnlint.decode.cfn_yaml import loads

    body = aws.cloudformation.get_template(StackName=stack["StackId"])["TemplateBody"]
    template = loads(body) if isinstance(body, str) else body
    keep = {
        logical_id
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate", "Snapshot")
    }
    pages = aws.cloudformation.get_paginator("list_stack_resources").paginate(
        StackName=stack["StackId"]
    )
    return [
        (summary["LogicalResourceId"], summary["ResourceType"], summary.get("PhysicalResourceId"))
        for page in pages
        for summary in page["StackResourceSummaries"]
        if summary["LogicalResourceId"] in keep
    ]


def empty_repository(aws, repository):
    """Delete every image so that CloudFormation can delete the repository."""
    if not repository:
        return
    ecr = aws.client("ecr")
    try:
        pages = ecr.get_paginator("list_images").paginate(repositoryName=repository)
        images = [image_id for page in pages for image_id in page["imageIds"]]
    except ecr.exceptions.RepositoryNotFoundException:
        return
    for start in range(0, len(images), 100):
        ecr.batch_delete_image(repositoryName=repository, imageIds=images[start : start + 100])
    console.print(f"{repository}: {len(images)} images deleted")
