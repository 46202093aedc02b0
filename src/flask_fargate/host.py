"""Sites sharing one network and load balancer: a site that joins a host (HostSite), and a host's
view of the sites joined to it.

A joining site's resources stack imports the host's exports that no parameter of the host
changes (its VPC, load balancer and that one's security group) and takes the rest from the
host's outputs on each deploy: the listener its rule and certificate go on, the host's IPv6,
where the tasks run. Those follow the host's EnableHttps, EnableIpv6 and NatGateways, so the
host may not change them while sites are joined to it.
"""

import botocore.exceptions

from flask_fargate import site, stacks
from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import console

# An Application Load Balancer's quotas at their defaults, which AWS raises on request ("Quotas
# for your Application Load Balancers":
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html):
# rules (one per site) without the listeners' default ones, certificates (one per joining site
# with HTTPS) without the listener's default one, the host's.
MAX_RULES = 100
MAX_CERTIFICATES = 25
# And 100 target groups, two per site (TargetGroup and AlternateTargetGroup).
MAX_TARGET_GROUPS = 100
TARGET_GROUPS_PER_SITE = 2
# A joining site's rule: the lowest free priority above the host's own (1000, the resources
# stack's default), up to ELB's highest (RulePriorityPair in the ELB API Reference).
HOST_PRIORITY = 1000
HIGHEST_PRIORITY = 50000
# The host's settings its joined sites depend on (see above), and HostSite itself.
SHARED_SETTINGS = ("NatGateways", "EnableHttps", "EnableIpv6", "HostSite")
# The export every joining site's resources stack imports: its groups live in the host's VPC.
JOINED_THROUGH = "VpcId"
README = "the tool's docs/sharing-a-load-balancer.md"


def resources_stack_name(slug):
    return f"{slug}-resources"


def joined_sites(aws, slug=None):
    """The sites whose resources stacks import this site's network (or slug's), by slug
    (ListImports)."""
    slug = slug or site.current().slug
    export = f"{resources_stack_name(slug)}-{JOINED_THROUGH}"
    try:
        pages = aws.cloudformation.get_paginator("list_imports").paginate(ExportName=export)
        stack_names = [name for page in pages for name in page["Imports"]]
    except botocore.exceptions.ClientError as error:
        # Also what AWS answers for an export that does not exist (a site that joins another).
        if "is not imported by any stack" in stacks.error_message(error):
            return []
        raise
    return sorted(name.removesuffix("-resources") for name in stack_names)


def run(sites):
    """The sites joined to a host as a sentence's subject, and the pronoun for them:
    ("a-com runs", "it") or ("a-com, b-org run", "them")."""
    one = len(sites) == 1
    return f"{', '.join(sites)} {'runs' if one else 'run'}", "it" if one else "them"


def refuse_a_network_setting(host, overrides):
    """NatGateways of a joining site: its template reads it only where the site owns its network
    (HasNat, HasTwoNats), so a value set would change nothing, and a plan would show it as if."""
    if "NatGateways" in overrides:
        raise Abort(
            f"--set NatGateways={overrides['NatGateways']}: a site joining {host} has no NAT "
            f"gateway of its own; its tasks run where {host}'s do, as {host}'s NatGateways decides",
            USAGE,
        )


def refuse_changes_under_joined_sites(aws, resources_stack, values):
    """One line, before anything changes, for a change to a setting the joined sites depend on."""
    if stacks.is_new(resources_stack):
        return
    now = stacks.parameters_of(resources_stack)
    changes = [
        f"{key} {values.get(key) or '(empty)'}"
        for key in SHARED_SETTINGS
        if key in now and values.get(key, "") != now[key]
    ]
    joined = joined_sites(aws) if changes else []
    if joined:
        subject, them = run(joined)
        raise Abort(
            f"{', '.join(changes)}: {subject} on this site's network and load balancer as it is "
            f"now; move {them} out first ({README})",
            USAGE,
        )


def refuse_moving(resources_stack, values):
    """HostSite of a deployed site: its network would go (or come) under its running tasks."""
    if stacks.is_new(resources_stack):
        return
    before = stacks.parameters_of(resources_stack).get("HostSite", "")
    if values.get("HostSite", "") != before:
        raise Abort(
            f"HostSite {values.get('HostSite') or '(empty)'}: {site.current().slug} runs on "
            f"{before or 'its own load balancer'} now, and moving a deployed site replaces the "
            f"network under its tasks; `make destroy` it and deploy it again ({README})",
            USAGE,
        )


def refuse_destroying_a_host(aws, resources_stack):
    """This site's deletion while sites are joined to it (a site that joins one hosts none)."""
    if stacks.parameters_of(resources_stack).get("HostSite"):
        return
    joined = joined_sites(aws)
    if joined:
        subject, them = run(joined)
        raise Abort(
            f"{subject} on {site.current().slug}'s network and load balancer: destroy {them} "
            "first (CloudFormation refuses to delete an export another stack imports)",
            USAGE,
        )


def usable_host(aws, host):
    """The host's resources stack, ready and owning its network, or one line saying why not."""
    name = resources_stack_name(host)
    stack = stacks.describe(aws, name)
    if stacks.is_new(stack):
        raise Abort(
            f"HostSite {host}: there is no stack {name} in {aws.region} (a site joins a host in "
            "its own account and region; deploy the host first)",
            USAGE,
        )
    if stack["StackStatus"] not in stacks.USABLE:
        raise Abort(
            f"HostSite {host}: {name} is {stack['StackStatus']}; `make status` in {host}'s "
            "folder says where it is, and a deploy of it makes it usable again",
            USAGE,
        )
    outer = stacks.parameters_of(stack).get("HostSite")
    if outer:
        raise Abort(f"HostSite {host}: {host} itself joins {outer}; join {outer} instead", USAGE)
    return stack


def listener_of(host, outputs, values):
    """The host's listener this site's rule goes on: HTTPS, or HTTP without it."""
    if "HttpListenerArn" not in outputs:
        raise Abort(
            f"HostSite {host}: {host} was deployed by an older template; `make deploy` it first",
            USAGE,
        )
    if values["EnableHttps"] != "true":
        return outputs["HttpListenerArn"]
    if "HttpsListenerArn" not in outputs:
        raise Abort(
            f"HostSite {host}: {host} serves no HTTPS (its EnableHttps is false) and this site "
            "does; --set EnableHttps=false here, or turn HTTPS on there while no site is joined",
            USAGE,
        )
    return outputs["HttpsListenerArn"]


def rules_of(elbv2, listeners):
    pages = (elbv2.get_paginator("describe_rules").paginate(ListenerArn=arn) for arn in listeners)
    return [rule for each in pages for page in each for rule in page["Rules"]]


def sni_certificates(elbv2, listener):
    described = elbv2.describe_listener_certificates(ListenerArn=listener)["Certificates"]
    return [c for c in described if not c.get("IsDefault")]


def joining_overrides(aws, values, resources_stack):
    """The resources stack's parameters a joining site takes from its host, after checking the
    host exists, owns its network, has the listener this site needs and room for it."""
    host = values["HostSite"]
    host_stack = usable_host(aws, host)
    outputs = stacks.outputs(host_stack)
    listener = listener_of(host, outputs, values)
    elbv2 = aws.client("elbv2")
    listeners = [outputs[key] for key in ("HttpListenerArn", "HttpsListenerArn") if key in outputs]
    rules = [rule for rule in rules_of(elbv2, listeners) if not rule["IsDefault"]]
    certificates = (
        sni_certificates(elbv2, outputs["HttpsListenerArn"])
        if "HttpsListenerArn" in outputs
        else []
    )
    now = {} if stacks.is_new(resources_stack) else stacks.parameters_of(resources_stack)
    joined = joined_sites(aws, host)
    on_it = now.get("HostListenerArn") == listener
    # A joined site moving to the other listener (EnableHttps) keeps its target groups, and its
    # rule's replacement takes the place of its rule: the load balancer's rules (the quota counts
    # them across its listeners) are as many as now.
    joined_already = bool(now.get("HostListenerArn"))
    rules_after = len(rules) + (0 if joined_already else 1)
    if not on_it:
        groups = target_groups_of(elbv2, listener)
        added = 0 if joined_already else TARGET_GROUPS_PER_SITE
        refuse_a_full_host(host, rules_after, certificates, len(groups) + added, values)
        priority = lowest_free_priority(rules)
    else:
        priority = int(now["ListenerRulePriority"])
    if values.get("CertificateArn") != now.get("CertificateArn"):
        refuse_a_certificate_in_use(host, elbv2, listeners, values)
    others = [slug for slug in joined if slug != site.current().slug]
    console.print(
        f"Joining {host}'s load balancer, with {len(others)} other site"
        f"{'' if len(others) == 1 else 's'} there{': ' + ', '.join(others) if others else ''} "
        f"(rules {rules_after} of {MAX_RULES}, certificates "
        f"{len(certificates) + (0 if on_it or values['EnableHttps'] != 'true' else 1)} of "
        f"{MAX_CERTIFICATES}); this site's rule has priority {priority}"
    )
    return {
        "HostListenerArn": listener,
        "ListenerRulePriority": str(priority),
        "EnableIpv6": stacks.parameters_of(host_stack)["EnableIpv6"],
    }


def target_groups_of(elbv2, listener):
    """The target groups of the load balancer the listener belongs to."""
    (described,) = elbv2.describe_listeners(ListenerArns=[listener])["Listeners"]
    pages = elbv2.get_paginator("describe_target_groups").paginate(
        LoadBalancerArn=described["LoadBalancerArn"]
    )
    return [group for page in pages for group in page["TargetGroups"]]


def refuse_a_full_host(host, rules_after, certificates, groups_after, values):
    """A joining site adds a rule, two target groups, and a certificate with HTTPS: refused when
    that would not fit (`rules_after`, `groups_after`: the load balancer's once it has joined)."""
    full = []
    if rules_after > MAX_RULES:
        full.append(f"{rules_after - 1} rules of {MAX_RULES}")
    if groups_after > MAX_TARGET_GROUPS:
        full.append(f"{groups_after - TARGET_GROUPS_PER_SITE} target groups of {MAX_TARGET_GROUPS}")
    if values["EnableHttps"] == "true" and len(certificates) >= MAX_CERTIFICATES:
        full.append(f"{len(certificates)} certificates of {MAX_CERTIFICATES}")
    if full:
        raise Abort(
            f"HostSite {host}: {host}'s load balancer is full ({', '.join(full)}, AWS's default "
            "quotas); join another host, or ask AWS to raise the quota and set the new figure "
            "in flask_fargate/host.py",
            USAGE,
        )


def refuse_a_certificate_in_use(host, elbv2, listeners, values):
    """A certificate of the site's own (CertificateArn) that is on the host's listeners already,
    the host's or another site's: deleting this site would take it from the listener with it."""
    arn = values.get("CertificateArn")
    if not arn or values["EnableHttps"] != "true":
        return
    described = (elbv2.describe_listener_certificates(ListenerArn=each) for each in listeners)
    if any(c["CertificateArn"] == arn for page in described for c in page["Certificates"]):
        raise Abort(
            f"CertificateArn {arn}: already on {host}'s load balancer (the host's or another "
            "site's), which this site's deletion would take it from: request one for this site "
            "(--set CertificateArn=)",
            USAGE,
        )


def lowest_free_priority(rules):
    taken = {int(rule["Priority"]) for rule in rules}
    return next(p for p in range(HOST_PRIORITY + 1, HIGHEST_PRIORITY + 1) if p not in taken)


def task_network(aws, resources):
    """Where a joining site's tasks run: its host's subnets, as the host's outputs say."""
    host = resources.get("HostSite")
    if not host:
        return {}
    outputs = stacks.outputs(usable_host(aws, host))
    return {key: outputs[key] for key in ("ServiceSubnetIds", "ServiceAssignPublicIp")}


def load_balancer_stack_id(aws, stack):
    """The stack whose load balancer serves the site: its own, or its host's."""
    host = stacks.parameters_of(stack).get("HostSite")
    if not host:
        return stack["StackId"]
    host_stack = stacks.describe(aws, resources_stack_name(host))
    return host_stack["StackId"] if host_stack else None
