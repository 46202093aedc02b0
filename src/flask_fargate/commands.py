"""The commands of `flask-fargate`, one function each, taking the AWS session and the options."""

import re
import sys
import time
from datetime import UTC, datetime, timedelta

from rich.text import Text

from flask_fargate import (
    account,
    constraints,
    dns,
    external_dns,
    github,
    host,
    image,
    own_traffic,
    rollout,
    secrets,
    site,
    stacks,
    tasks,
)
from flask_fargate import status as status_report
from flask_fargate.deployments import (
    refuse_a_bake_ci_cannot_wait,
    refuse_stranding_the_traffic,
    refuse_unknown_strategy,
)
from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import console

SINCE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# ACM: a certificate's DomainName, its common name, is at most 64 octets (RequestCertificate).
MAX_CERTIFICATE_NAME = 64
LOG_POLL_SECONDS = 2
# The providers each Capacity names in the service's strategy (cloudformation/service.yaml).
CAPACITY_PROVIDERS = {
    "on_demand": ["FARGATE"],
    "spot": ["FARGATE_SPOT"],
    "mixed": ["FARGATE", "FARGATE_SPOT"],
}
# What to run first when the service's strategy names a provider the cluster lacks.
MAKE_DEPLOY_FIRST = "run `make deploy` first, which updates the resources stack's cluster"
# A deploy that changes the service before the resources stack (service_first) cannot: the
# providers as the resources stack sets them, which its update then leaves as they are.
ADD_PROVIDERS_FIRST = (
    "this deploy changes the service first, so add them as the resources stack would, then "
    "deploy again: aws ecs put-cluster-capacity-providers --cluster {cluster} "
    "--capacity-providers FARGATE FARGATE_SPOT "
    "--default-capacity-provider-strategy capacityProvider=FARGATE,weight=1 {cli}"
)


def split_overrides(aws, pairs):
    """`--set KEY=VALUE` options, sorted to the stack whose template has that parameter."""
    if not pairs:
        return {stacks.resources(): {}, stacks.service(): {}}
    wanted = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals:
            raise Abort(f"--set {pair}: write it as KEY=VALUE, e.g. --set DesiredCount=3", USAGE)
        wanted[key] = value
    split = {}
    known = set()
    for spec in (stacks.resources(), stacks.service()):
        defaults, _ = stacks.template_summary(aws, spec)
        settable = set(defaults) - spec.set_by_the_tool
        split[spec] = {key: value for key, value in wanted.items() if key in settable}
        known |= settable
    for key in wanted.keys() - known:
        raise Abort(
            f"--set {key}: no such parameter; the stacks take {', '.join(sorted(known))} "
            "(the image tag is --tag)",
            USAGE,
        )
    for spec, given in split.items():
        constraints.refuse_unfit(spec, given)
    return split


def print_name_servers(servers, domain):
    console.print(f"Name servers of the hosted zone of {domain}:")
    for server in servers:
        console.print(f"  {server}", style="bold")


def print_provider_validation(aws, stack_id, domain):
    """The stack's own certificate's validation record(s) for the DNS provider; False while ACM
    has not named them yet."""
    arns = stacks.physical_ids(aws, stack_id, status_report.CERTIFICATE)
    records = external_dns.validation_records(aws, arns)
    if records:
        external_dns.show_validation(records, domain)
    return bool(records)


def print_provider_site_records(aws, stack_id, domain):
    """The apex's and www's records for the DNS provider; False while there is no load balancer."""
    target = external_dns.load_balancer_name(aws, stack_id)
    if target:
        external_dns.show_site(external_dns.site_records(domain, target), domain)
    return bool(target)


def print_provider_records_not_in_place(aws, stack_id, domain):
    """After `up`: the records still to create at the DNS provider. The validation record until
    ACM issues the certificate; the site's records that public DNS does not answer as the load
    balancer (or that cannot be checked from here). Once all are in place, a line says so."""
    arns = stacks.physical_ids(aws, stack_id, status_report.CERTIFICATE)
    acm = aws.client("acm")
    pending = [
        arn
        for arn in arns
        if acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] != "ISSUED"
    ]
    records = external_dns.validation_records(aws, pending)
    if records:
        external_dns.show_validation(records, domain)
    target = external_dns.load_balancer_name(aws, stack_id)
    checks = external_dns.check_site_names(domain, target, external_dns.resolve) if target else []
    records_and_checks = list(zip(external_dns.site_records(domain, target), checks, strict=True))
    missing = [record for record, check in records_and_checks if check["state"] in WRONG]
    unchecked = [check for _, check in records_and_checks if check["state"] == "unknown"]
    if missing:
        external_dns.show_site(missing, domain)
    elif unchecked:
        console.print(
            f"{domain}'s records at the DNS provider are not checked from here "
            f"({unchecked[0]['reason']}): `make ns` lists them."
        )
    elif target and not records:
        console.print(f"{domain}'s records at the DNS provider answer as the load balancer.")
    console.print("`make status` checks what public DNS answers for them.")


WRONG = ("missing", "mismatch")  # external_dns.check_site_names's states to put right


def provider_notice(aws, domain):
    """An on_poll hook for DnsProvider external: while the certificate waits, the records to
    create at the provider, each said once, as soon as AWS knows it."""
    shown = set()

    def on_poll(watcher):
        waiting = any(kind == status_report.CERTIFICATE for kind, _ in watcher.in_progress.values())
        if not waiting:
            return
        if "validation" not in shown and print_provider_validation(aws, watcher.stack_id, domain):
            shown.add("validation")
            # CloudFormation's certificate resource gives up well before ACM's 72 hours, after
            # about 12 (aws-cloudformation/cloudformation-coverage-roadmap#130).
            console.print(
                "Create it now: the stack waits until ACM sees it (minutes after it answers) "
                "and carries on by itself; Ctrl-C only stops watching. If it waits too long "
                "(some hours), CloudFormation rolls the stack back: `make deploy` again then "
                "(ACM usually names the same record again).",
                style="yellow",
            )
        if "site" not in shown and print_provider_site_records(aws, watcher.stack_id, domain):
            shown.add("site")

    return on_poll


def certificate_notice(aws, domain, dns_provider, confirm=None):
    """An on_poll hook: once the certificate waits for DNS validation, say what the user must do
    (or, `confirm` given, offer to delegate the domain from its parent's zone: dns.py)."""
    if dns_provider == external_dns.EXTERNAL:
        return provider_notice(aws, domain)
    shown = False

    def on_poll(watcher):
        nonlocal shown
        waiting = any(kind == status_report.CERTIFICATE for kind, _ in watcher.in_progress.values())
        if shown or not waiting:
            return
        shown = True
        zones = stacks.physical_ids(aws, watcher.stack_id, dns.ZONE)
        servers = dns.name_servers(aws, zones[0]) if zones else []
        if servers and confirm and dns.offer_delegation(aws, domain, servers, confirm):
            console.print("The stack carries on once that answers; Ctrl-C only stops watching.")
        elif zones:
            print_name_servers(servers, domain)
            console.print(
                f"The certificate is validated through this new zone, so AWS waits until "
                f"{domain} is delegated to it: set these name servers now, "
                f"{dns.delegation(domain)}. The stack carries on by itself once they answer "
                "(minutes to a few hours); Ctrl-C only stops watching.",
                style="yellow",
            )
        else:
            console.print(
                f"The certificate waits for its DNS validation records in {domain}'s "
                "hosted zone to answer; usually a few minutes.",
                style="yellow",
            )

    return on_poll


def refuse_inverted_task_counts(values):
    """DesiredCount above MaxCount fails only once CloudFormation registers the scaling range."""
    desired, most = int(values["DesiredCount"]), int(values["MaxCount"])
    if desired > most:
        raise Abort(
            f"DesiredCount {desired} is above MaxCount {most}: set MaxCount to at least "
            f"{desired} (equal turns autoscaling off), e.g. --set MaxCount={desired}",
            USAGE,
        )


def refuse_a_name_acm_cannot_certify(values):
    domain = values["DomainName"]
    requested = values["EnableHttps"] == "true" and not values["CertificateArn"]
    if requested and len(domain) > MAX_CERTIFICATE_NAME:
        raise Abort(
            f"DomainName {domain}: {len(domain)} characters, and ACM puts at most "
            f"{MAX_CERTIFICATE_NAME} in the certificate the stack would request: pass "
            "--set CertificateArn=<a certificate with it as an alternative name>, or keep "
            "EnableHttps=false",
            USAGE,
        )


def planned_resources(aws, overrides):
    """The resources stack's values after a deploy with these overrides; for a site joining a
    host, the host is checked and what the site takes from it is added to `overrides`, as are
    the GitHub repository's ids its deploy role trusts (flask_fargate/github.py)."""
    values = stacks.planned_values(aws, stacks.resources(), overrides)
    resources_stack = stacks.describe(aws, stacks.resources().name)
    host.refuse_moving(resources_stack, values)  # before anything is asked of a new host
    if values.get("HostSite"):  # a template generated with host_site
        host.refuse_a_network_setting(values["HostSite"], overrides)
        taken = host.joining_overrides(aws, values, resources_stack)
        if overrides.get("EnableIpv6", taken["EnableIpv6"]) != taken["EnableIpv6"]:
            raise Abort(
                f"--set EnableIpv6={overrides['EnableIpv6']}: a site joining {values['HostSite']} "
                f"follows its load balancer, whose EnableIpv6 is {taken['EnableIpv6']}",
                USAGE,
            )
        overrides |= taken
        values = stacks.planned_values(aws, stacks.resources(), overrides)
    trust = github.subject_overrides(resources_stack, values, overrides)
    if trust:
        overrides |= trust
        values = stacks.planned_values(aws, stacks.resources(), overrides)
    return values


def check_planned_values(aws, resources_values, service_values, service_only=False):
    """What AWS would refuse only half way through a deploy, refused before anything changes
    (`service_only`: a deploy that leaves the resources stack as it is)."""
    refuse_inverted_task_counts(service_values)
    refuse_unknown_strategy(service_values)
    refuse_a_bake_ci_cannot_wait(service_values)
    refuse_a_name_acm_cannot_certify(resources_values)
    resources_stack = stacks.describe(aws, stacks.resources().name)
    own_traffic.refuse_foreign_targets(aws, resources_stack, service_values)
    host.refuse_changes_under_joined_sites(aws, resources_stack, resources_values)
    refuse_stranding_the_traffic(
        aws, resources_stack, resources_values, service_values, not service_only
    )
    zone, domain = resources_values["HostedZoneId"], resources_values["DomainName"]
    if zone and resources_values["DnsProvider"] == external_dns.EXTERNAL:
        raise Abort(
            f"HostedZoneId {zone} is a Route 53 zone, which DnsProvider external does not use: "
            "pass --set HostedZoneId= too, or keep DnsProvider route53",
            USAGE,
        )
    # Records the stack already made for this domain are its own; anything else there is not.
    domain_is_new = stacks.is_new(resources_stack) or (
        stacks.parameters_of(resources_stack).get("DomainName") != domain
    )
    if zone and domain_is_new:
        dns.refuse_conflicting_records(aws, zone, domain)
    return resources_stack


def refuse_providers_the_cluster_lacks(aws, resources, service_values, remedy):
    """A service stack deployed before the resources stack's update meets the cluster as it is,
    and ECS refuses a strategy naming a provider the cluster lacks ("You must associate a capacity
    provider with a cluster before you associate it with the capacity provider strategy":
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html);
    CloudFormation then rolls the stack back. Clusters made before the capacity answer have no
    provider at all. remedy: what to run first, given the cluster's name."""
    cluster = resources["ClusterName"]
    (described,) = aws.client("ecs").describe_clusters(clusters=[cluster])["clusters"]
    capacity = service_values["Capacity"]
    missing = [
        provider
        for provider in CAPACITY_PROVIDERS[capacity]
        if provider not in described.get("capacityProviders", [])
    ]
    if missing:
        raise Abort(
            f"Capacity {capacity}: the service's strategy names {' and '.join(missing)}, which "
            f"cluster {cluster} lacks: {remedy.format(cluster=cluster, cli=aws.cli_options())}"
        )


def github_oidc_provider_override(aws, resources_stack, values):
    """Use the account's GitHub OIDC provider when this stack would otherwise create a second."""
    if not values["GithubRepo"] or values["GithubOidcProviderArn"]:
        return {}
    if resources_stack and not stacks.is_new(resources_stack):
        own = stacks.physical_ids(aws, resources_stack["StackId"], "AWS::IAM::OIDCProvider")
        if own:
            return {}  # this stack made the account's provider and keeps managing it
    arn = account.github_oidc_provider(aws)
    if arn is None:
        return {}
    console.print(f"Using the account's GitHub OIDC provider {arn} (an account holds one)")
    return {"GithubOidcProviderArn": arn}


def service_first(aws, resources, resources_values):
    """The service stack's inputs for a deploy that must run before the resources stack's, or None.

    With NatGateways going to 0 the tasks move to the public subnets before the NAT gateways go,
    so they never lose their way out; and a service stack still importing an export that the
    resources template no longer has must stop importing it first, or AWS refuses the export's
    removal.
    """
    if not resources or stacks.describe(aws, stacks.service().name) is None:
        return None
    inputs = {**stacks.service_inputs(resources), **host.task_network(aws, resources)}
    # A joining site's tasks run where its host's do (no ServiceAssignPublicIp of its own).
    if (
        resources.get("ServiceAssignPublicIp") == "DISABLED"
        and resources_values["NatGateways"] == "0"
    ):
        console.print("NatGateways goes to 0: the tasks move to the public subnets first")
        return {
            **inputs,
            "ServiceSubnetIds": resources["PublicSubnetIds"],
            "ServiceAssignPublicIp": "ENABLED",
        }
    if stacks.imports_dropped(aws):
        console.print(f"{stacks.service().name} first: it imports exports the new template drops")
        return inputs
    return None


def confirmation(yes, command="up"):
    """How `command` asks before it executes a change set it has shown: not at all with --yes."""
    if yes:
        return lambda spec: True
    if not sys.stdin.isatty():
        raise Abort(
            f"{command} shows each change set and applies it once you say yes: pass --yes to "
            "apply them without a terminal (CI, scripts)",
            USAGE,
        )

    def ask(spec):
        answer = console.input(
            Text.assemble("Apply these changes to ", (spec.name, "bold"), "? [y/N] ")
        )
        return answer.strip().lower() in ("y", "yes")

    return ask


def refuse_a_tag_no_repository_holds(resources_stack, tag, recreate):
    """`--tag` names an image already in the site's ECR repository, which the resources stack
    makes: before that stack exists (or when --recreate makes it again), no image can be there,
    and finding out after creating it would leave a load balancer and more behind."""
    if not tag or not stacks.is_new(resources_stack):
        return
    state = "does not exist yet"
    if resources_stack and resources_stack["StackStatus"] in stacks.DELETE_ONLY:
        if not recreate:
            return  # up explains the failed creation
        state = f"is {resources_stack['StackStatus']}, made again by --recreate"
    raise Abort(
        f"--tag {tag}: {stacks.resources().name} {state}, and with it the ECR repository the "
        "image would have to be in: deploy without --tag the first time (`make deploy`), which "
        "builds and pushes the image",
        USAGE,
    )


def run_before(aws, resources, tag, architecture, command, recreate):
    """tasks.run_before, unless the service runs `tag` already: then no new image rolls out, and
    the command prepared it when it did."""
    service_stack = stacks.describe(aws, stacks.service().name)
    running = stacks.parameters_of(service_stack).get("ImageTag")
    usable = service_stack and service_stack["StackStatus"] in stacks.USABLE
    if command and usable and running == tag and not recreate:
        console.print(
            f"--before: not run, {stacks.service().name} runs image {tag} already: no new image "
            "rolls out",
            style="yellow",
        )
        return
    tasks.run_before(aws, resources, tag, architecture, command, recreate)


def up(aws, options):
    confirm = confirmation(options.yes)
    before = tasks.before_command(options.before)
    overrides = split_overrides(aws, options.set)
    if options.service_only and overrides[stacks.resources()]:
        keys = ", ".join(sorted(overrides[stacks.resources()]))
        raise Abort(
            f"--set {keys}: a parameter of {stacks.resources().name}, which --service-only "
            "leaves alone; deploy it with `make deploy`",
            USAGE,
        )
    resources_values = planned_resources(aws, overrides[stacks.resources()])
    service_values = stacks.planned_values(aws, stacks.service(), overrides[stacks.service()])
    constraints.refuse_a_size_fargate_lacks(service_values, overrides[stacks.service()])
    resources_stack = check_planned_values(
        aws, resources_values, service_values, options.service_only
    )
    usable = resources_stack and resources_stack["StackStatus"] in stacks.USABLE
    resources = stacks.outputs(resources_stack) if usable else {}
    architecture = service_values["CpuArchitecture"]
    refuse_a_tag_no_repository_holds(resources_stack, options.tag, options.recreate)
    delivery = image.Delivery.check(aws, resources, architecture, options.tag)
    rollout.catch_up(aws)  # an interrupted deploy's rollout, before anything changes
    early = None
    if options.service_only:
        resources_stack = stacks.require_usable(aws, stacks.resources().name)
        refuse_providers_the_cluster_lacks(aws, resources, service_values, MAKE_DEPLOY_FIRST)
    else:
        if stacks.is_new(resources_stack):
            account.create_service_linked_roles(aws)
        overrides[stacks.resources()] |= github_oidc_provider_override(
            aws, resources_stack, resources_values
        )
        early = service_first(aws, resources, resources_values)
        if early:
            refuse_providers_the_cluster_lacks(aws, resources, service_values, ADD_PROVIDERS_FIRST)
            tag = delivery.deliver(aws, resources)
            run_before(aws, resources, tag, architecture, before, options.recreate)
            parameters = rollout.service_parameters(aws, resources, tag)
            service_overrides = {**overrides[stacks.service()], **parameters, **early}
            stacks.deploy(aws, stacks.service(), service_overrides, confirm)
        resources_stack = stacks.deploy(
            aws,
            stacks.resources(),
            overrides[stacks.resources()],
            confirm,
            recreate=options.recreate,
            on_poll=certificate_notice(
                aws, resources_values["DomainName"], resources_values["DnsProvider"], confirm
            ),
        )
    resources = stacks.outputs(resources_stack)
    tag = delivery.deliver(aws, resources)
    if not early:  # else it ran before the service's first change, above
        run_before(aws, resources, tag, architecture, before, options.recreate)
    service_overrides = {
        **overrides[stacks.service()],
        **rollout.service_parameters(aws, resources, tag),
    }
    rollout.deploy(aws, service_overrides, confirm, recreate=options.recreate)
    domain = resources["DomainName"]
    console.print(f"\n{domain} runs image {tag}: {resources['SiteUrl']}", style="bold green")
    new_zone = resources.get("NameServers", "").split(",")  # the zone the stack made
    # --service-only leaves the zone as it was (and CI's deploy role may not read Route 53):
    # where its name servers go was said when the resources stack made it; `ns` says it again.
    offer = resources.get("NameServers") and not options.service_only
    if offer and not dns.offer_delegation(aws, domain, new_zone, confirm):
        servers = ", ".join(new_zone)
        console.print(
            f"Name servers of {domain}'s zone: {servers}: set them {dns.delegation(domain)}"
        )
    if external_dns.is_external(resources_stack) and not options.service_only:
        print_provider_records_not_in_place(aws, resources_stack["StackId"], domain)


def plan(aws, options):
    overrides = split_overrides(aws, options.set)
    resources_values = planned_resources(aws, overrides[stacks.resources()])
    service_values = stacks.planned_values(aws, stacks.service(), overrides[stacks.service()])
    constraints.refuse_a_size_fargate_lacks(service_values, overrides[stacks.service()])
    resources_stack = check_planned_values(aws, resources_values, service_values)
    resources = stacks.outputs(resources_stack or {})
    architecture = service_values["CpuArchitecture"]
    if options.tag:  # an image `up` would refuse is no plan either
        refuse_a_tag_no_repository_holds(resources_stack, options.tag, recreate=False)
        image.Delivery.check(aws, resources, architecture, options.tag)
    summaries = [stacks.plan(aws, stacks.resources(), overrides[stacks.resources()])]
    if resources:
        service_stack = stacks.describe(aws, stacks.service().name)
        tag = options.tag or planned_image(stacks.parameters_of(service_stack), architecture)
        say_a_rollout_in_progress(aws, service_stack)
        inputs = rollout.service_parameters(aws, resources, tag)
        service = stacks.plan(aws, stacks.service(), {**overrides[stacks.service()], **inputs})
        changed = stacks.changed_outputs(
            aws, stacks.resources(), resources_stack, summaries[0], resources_values,
            rollout.OUTPUTS_TAKEN,
        )  # fmt: skip
        summaries.append(stacks.with_changed_outputs(service, changed))
    else:
        note = f"planned once {stacks.resources().name} exists (it takes that stack's outputs)"
        summaries.append({"stack": stacks.service().name, "action": None, "note": note})
    if options.output == "json":
        return summaries
    for summary in summaries:
        stacks.print_changes(summary)
    return None


def planned_image(current, architecture):
    """The image a plan without --tag shows, said in a line: the deployed one, unless the tasks
    move to the other CPU, where `up` builds the working tree's image for it (as before any
    service), since an image runs on the CPU it was built for only."""
    deployed = current.get("ImageTag")
    if deployed and image.architecture_of(deployed) == architecture:
        console.print(
            f"(planned with the deployed image {deployed}; `plan --tag TAG` plans another)"
        )
        return deployed
    tag = image.image_tag(architecture)
    why = (
        f"the deployed {deployed} is built for {image.architecture_of(deployed)}, and the tasks "
        f"move to {architecture}"
        if deployed
        else "no service yet"
    )
    console.print(
        f"(planned with image {tag}, the working tree's, which `up` would build ({why}); "
        "`plan --tag TAG` plans another)"
    )
    return tag


def say_a_rollout_in_progress(aws, service_stack):
    """A plan after an interrupted deploy: ECS may still be rolling its deployment out, which
    `up` follows to its end before it changes anything (rollout.catch_up)."""
    outputs = stacks.outputs(service_stack or {})
    if "ServiceName" not in outputs:
        return
    if rollout.unfinished(aws.client("ecs"), outputs):
        console.print(
            f"{stacks.service().name}: ECS is still rolling out a deployment an earlier deploy "
            "started (`make status` shows where it is); `up` follows it to its end first",
            style="yellow",
        )


def build_image(aws, options):
    resources = stacks.outputs(stacks.require_usable(aws, stacks.resources().name))
    # For the CPU the service runs on now, or will once deployed.
    architecture = stacks.planned_values(aws, stacks.service(), {})["CpuArchitecture"]
    tag = image.Delivery.check(aws, resources, architecture).deliver(aws, resources)
    console.print(f"Image {tag} is in ECR; deploy it with `flask-fargate up --tag {tag}`")


def status(aws, options):
    facts = status_report.gather(aws)
    if options.output == "json":
        return facts
    status_report.show(facts)
    return None


def parse_since(text):
    match = re.fullmatch(r"(\d+)([smhd])", text)
    if not match:
        raise Abort(f"--since {text}: use a number and s, m, h or d, e.g. 10m or 2h", USAGE)
    return timedelta(**{SINCE_UNITS[match[2]]: int(match[1])})


def logs(aws, options):
    since = parse_since(options.since)
    group = stacks.outputs(stacks.require_usable(aws, stacks.resources().name))["LogGroupName"]
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
                        console.print(log_line(event))
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
    stack = stacks.require(aws, stacks.resources().name)
    if external_dns.is_external(stack):
        provider_records(aws, stack)
        return
    own_zones = stacks.physical_ids(aws, stack["StackId"], dns.ZONE)
    zone = own_zones[0] if own_zones else stacks.parameters_of(stack).get("HostedZoneId")
    if not zone:
        raise Abort(
            f"{stack['StackName']} has no hosted zone yet ({stack['StackStatus']}): "
            "`make status` shows where it is",
            USAGE,
        )
    domain = stacks.domain_of(stack)
    servers = dns.name_servers(aws, zone)
    print_name_servers(servers, domain)
    if own_zones:
        console.print(dns.where_they_go(aws, domain, servers))
    else:
        console.print(
            "The stack uses a hosted zone you already had; it is not the stack's to change."
        )


def provider_records(aws, stack):
    """`ns` for DnsProvider external: the records to create at the provider, as far as AWS
    knows them now (the stack may still be waiting for the certificate)."""
    domain = stacks.domain_of(stack)
    certificates = stacks.physical_ids(aws, stack["StackId"], status_report.CERTIFICATE)
    validation = print_provider_validation(aws, stack["StackId"], domain)
    site_records = print_provider_site_records(aws, stack["StackId"], domain)
    if certificates and not validation:
        # ACM names the record a few seconds after the request.
        console.print(
            "ACM has not named the certificate's validation record yet: run `make ns` again "
            "in a minute.",
            style="yellow",
        )
    elif not (validation or site_records):
        raise Abort(
            f"{stack['StackName']} has no certificate or load balancer yet "
            f"({stack['StackStatus']}): `make status` shows where it is",
            USAGE,
        )


def destroy(aws, options):
    resources_stack = stacks.describe(aws, stacks.resources().name)
    service_stack = stacks.describe(aws, stacks.service().name)
    if resources_stack is None and service_stack is None:
        stacks.require(aws, stacks.resources().name)
    domain = stacks.domain_of(resources_stack) if resources_stack else site.current().domain
    if resources_stack:
        host.refuse_destroying_a_host(aws, resources_stack)
    confirm_destroy(options.yes, domain)
    kept = retained_resources(aws, resources_stack) if resources_stack else []
    zones = (
        stacks.physical_ids(aws, resources_stack["StackId"], dns.ZONE) if resources_stack else []
    )
    delegation = dns.delegation_to(aws, domain, zones)
    external = resources_stack and external_dns.is_external(resources_stack)
    provider_records_left = left_at_the_provider(aws, resources_stack) if external else None
    if service_stack:
        stacks.delete(aws, service_stack)
    if resources_stack:
        empty_repository(aws, stacks.outputs(resources_stack).get("RepositoryName"))
        stacks.delete(aws, resources_stack)
        dns.remove_delegation(aws, delegation)
    console.print(f"{domain}: both stacks are deleted.", style="bold")
    if provider_records_left:
        console.print(
            f"Delete {domain}'s records at your DNS provider too: {provider_records_left}."
        )
    if zones and delegation is None and dns.parent_zone(aws, domain) is None:
        where = dns.delegation(domain)
        console.print(DANGLING_DELEGATION.format(domain=domain, where=where), style="yellow")
    for logical_id, kind, physical_id in kept:
        console.print(f"Kept on purpose: {logical_id} ({kind}) {physical_id}")
        if kind in DELETING_BY_HAND:
            how = DELETING_BY_HAND[kind].format(id=physical_id, cli=aws.cli_options())
            console.print(f"  {how}")
    if kept:
        console.print("Delete those by hand once you no longer need them.")


# The stack's zone is gone, but not what delegated the domain to it, outside this account: until
# that goes, whoever gets a zone on those name servers answers for the domain (DeleteHostedZone,
# Route 53 API Reference: "someone could hijack the domain"; for a subdomain, "you must update the
# name servers in the parent hosted zone").
DANGLING_DELEGATION = (
    "{domain}'s hosted zone is deleted, but not its delegation, which was made {where}: undo it "
    "there. Until then, whoever gets a hosted zone on those name servers can answer for {domain}."
)

# What a kept resource costs and how it goes. CloudFormation would delete a secret with no
# recovery window; by hand it gets 7 to 30 days in which restore-secret brings it back
# (DeleteSecret, AWS Secrets Manager API Reference).
DELETING_BY_HAND = {
    "AWS::SecretsManager::Secret": "the app's secret values ($0.40 a month): `aws secretsmanager "
    "delete-secret --secret-id {id} --recovery-window-in-days 7 {cli}` deletes them after 7 days "
    "(up to 30); `aws secretsmanager restore-secret --secret-id {id} {cli}` meanwhile brings them "
    "back",
    "AWS::S3::Bucket": "the load balancer's access logs: `aws s3 rb s3://{id} --force {cli}` "
    "deletes them",
    # One provider per URL in an account (CreateOpenIDConnectProvider, IAM API Reference): the
    # account's other sites deploying from GitHub use this one.
    "AWS::IAM::OIDCProvider": "GitHub's sign-in for the account: the deploy role of every site "
    "in this account that deploys from GitHub Actions trusts it, so delete it only once none "
    "does (`aws iam delete-open-id-connect-provider --open-id-connect-provider-arn {id} {cli}`)",
}


def left_at_the_provider(aws, resources_stack):
    """What of a DnsProvider external site's records at its provider outlives its deletion, in
    words: the site's records, and its certificate's validation record if it had a certificate.
    A joining site's records point at its host's load balancer, which stays and answers the
    name with its listener's default action (cloudformation/resources.yaml, unknown_name)."""
    joined = stacks.parameters_of(resources_stack).get("HostSite")
    if joined:
        # A name no listener certificate matches gets the listener's default certificate
        # ("Create an HTTPS listener", Elastic Load Balancing User Guide: default certificate).
        answer = (
            f"over HTTPS with {joined}'s certificate, which browsers refuse for this name"
            if stacks.parameters_of(resources_stack).get("EnableHttps") == "true"
            else 'with its 404 "No site here by that name."'
        )
        site_records = (
            f"the site's, which point at {joined}'s load balancer: it keeps running and "
            f"answers them {answer}"
        )
    else:
        site_records = "the site's, which point at a load balancer that is gone"
    if stacks.physical_ids(aws, resources_stack["StackId"], status_report.CERTIFICATE):
        return f"{site_records}, and the certificate's validation CNAME"
    return site_records


def confirm_destroy(yes, domain):
    if yes:
        return
    if not sys.stdin.isatty():
        raise Abort("destroy deletes the site: pass --yes to confirm without a terminal", USAGE)
    answer = console.input(
        Text.assemble(
            f"This deletes {domain}'s stacks, its images and its DNS zone if the stack made it "
            "(its secrets and access logs are kept). Type ",
            (domain, "bold"),
            " to confirm: ",
        )
    )
    if answer.strip() != domain:
        raise Abort(f"Nothing deleted: {answer.strip()!r} is not {domain}")


def retained_resources(aws, stack):
    """(logical id, type, physical id) of the resources whose DeletionPolicy keeps them."""
    template = stacks.deployed_template(aws, stack["StackId"])
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
    console.print(f"{repository}: {len(images)} image{'' if len(images) == 1 else 's'} deleted")


def rollback(aws, options):
    """Back to the image the service ran before the current one, through the service stack."""
    confirm = confirmation(options.yes, "rollback")
    rollout.catch_up(aws)  # an interrupted deploy's revision ran: history to go back through
    resources = stacks.outputs(stacks.require_usable(aws, stacks.resources().name))
    service_stack = stacks.require_usable(aws, stacks.service().name)
    current = stacks.parameters_of(service_stack)["ImageTag"]
    revision = rollout.previous_revision(aws, stacks.outputs(service_stack)["TaskDefinitionArn"])
    if revision is None:
        raise Abort(
            f"No earlier image to go back to: {stacks.service().name} has run {current} only", USAGE
        )
    tag = rollout.image_tag(revision)
    # The CPU the earlier image ran on, which is the one it is built for: since then the tasks
    # may have moved to the other (an image on the wrong one exits with `exec format error`).
    architecture = revision["runtimePlatform"]["cpuArchitecture"]
    if image.architecture_of(tag) != architecture:  # as `up --tag` refuses it
        raise Abort(
            f"The image before {current}, {tag}, is one for {image.architecture_of(tag)} and ran "
            f"on {architecture}, where its tasks exit with `exec format error`: deploy another "
            "with `up --tag TAG`",
            USAGE,
        )
    if not image.image_exists(aws.client("ecr"), resources["RepositoryName"], tag):
        raise Abort(
            f"The image before {current}, {tag}, is no longer in {resources['RepositoryName']} "
            "(the repository keeps the 30 newest); deploy another with `up --tag TAG`"
        )
    planned = stacks.planned_values(aws, stacks.service(), {"CpuArchitecture": architecture})
    refuse_providers_the_cluster_lacks(aws, resources, planned, MAKE_DEPLOY_FIRST)
    moved = ""
    now = stacks.planned_values(aws, stacks.service(), {})["CpuArchitecture"]
    if architecture != now:
        moved = f", and the tasks back from {now} to {architecture}, its CPU"
    console.print(f"Rolling back from {current} to {tag}, the image that ran before it{moved}")
    rollout.roll(aws, tag, confirm, CpuArchitecture=architecture)
    console.print(f"\n{stacks.domain_of(service_stack)} runs image {tag} again", style="bold green")


def run(aws, options):
    """A one-off task with the service's task definition; exits with the command's status."""
    command = tasks.refuse_no_command(options.argv)
    status = tasks.run(aws, command)
    if status != 0:
        raise Abort(f"`{' '.join(command)}` exited with status {status}", status)


def secret(aws, options):
    """`secret set|list|rm`; with --restart, the service's tasks restart onto the change."""
    # Asked before anything changes: without a terminal, --restart needs --yes.
    restart = getattr(options, "restart", False)
    confirm = confirmation(options.yes, "secret --restart") if restart else None
    if confirm:
        resources = stacks.outputs(stacks.require_usable(aws, stacks.resources().name))
        planned = stacks.planned_values(aws, stacks.service(), {})
        refuse_providers_the_cluster_lacks(aws, resources, planned, MAKE_DEPLOY_FIRST)
    actions = {
        "set": secrets.set_secret,
        "list": secrets.list_secrets,
        "rm": secrets.remove_secret,
    }
    actions[options.action](aws, options)
    if confirm:
        current = stacks.parameters_of(stacks.require_usable(aws, stacks.service().name))
        rollout.roll(aws, current["ImageTag"], confirm)
