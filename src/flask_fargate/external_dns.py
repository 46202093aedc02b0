"""A domain whose DNS is at another provider (DnsProvider external): the records to create
there, and whether public DNS answers them.

The stacks then make no hosted zone and no records. The certificate is validated through a
CNAME that ACM names and the user creates at the provider; until it answers, the certificate
stays PENDING_VALIDATION and CloudFormation's creation of the stack waits (AWS::CertificateManager::
Certificate, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-certificatemanager-certificate.html).
The record must stay afterwards: ACM renews the certificate through it
(https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html). The site's names point
at the load balancer's DNS name: www by a CNAME. The domain may be its zone's apex (example.com
in the zone example.com) or a name inside a zone (shop.example.com in example.com), which the
tool cannot tell from here: names are printed in full, and the domain's record is a CNAME unless
it is the zone's apex, which cannot hold one (a zone's apex holds its SOA and NS, and a CNAME
allows no other record beside it, RFC 1034 section 3.6.2); there it takes the provider's ALIAS,
ANAME or CNAME flattening, which answer the target's addresses.
"""

import socket
from dataclasses import dataclass
from typing import NamedTuple

from flask_fargate import host, stacks
from flask_fargate.ui import console

EXTERNAL = "external"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
APEX_TYPE = "CNAME, or ALIAS/ANAME at a zone apex"
# A dualstack load balancer answers AAAA only under the "dualstack." name
# (https://repost.aws/knowledge-center/elb-configure-with-ipv6).
DUALSTACK_TYPES = {"dualstack", "dualstack-without-public-ipv4"}
# getaddrinfo's answers for a name that has no address (NXDOMAIN, or no A/AAAA record).
NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


@dataclass(frozen=True)
class Record:
    name: str  # fully qualified, with the final dot
    type: str
    value: str


class Answer(NamedTuple):
    """What public DNS answers for a name: the name at the end of its CNAMEs (fully qualified,
    lower case) and its addresses, none when it has none."""

    canonical: str
    addresses: frozenset


def fqdn(name):
    return name if name.endswith(".") else f"{name}."


def is_external(stack):
    return stacks.parameters_of(stack).get("DnsProvider") == EXTERNAL


def validation_records(aws, certificate_arns):
    """The CNAMEs ACM validates the certificates through, once ACM has named them (a few
    seconds after the request); the apex and its wildcard share one."""
    acm = aws.client("acm")
    found = []
    for arn in certificate_arns:
        described = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        for option in described.get("DomainValidationOptions", []):
            record = option.get("ResourceRecord")
            if record:
                found.append(Record(fqdn(record["Name"]), record["Type"], fqdn(record["Value"])))
    return list(dict.fromkeys(found))


def load_balancer_name(aws, stack_id):
    """The name the site's records point at once the load balancer exists, or None: its DNS
    name, "dualstack." first when it has IPv6 addresses. Read from the stack's resources, not
    its outputs: it exists while the creation still waits for the certificate."""
    stack = aws.cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
    balancer_stack = host.load_balancer_stack_id(aws, stack)
    arns = stacks.physical_ids(aws, balancer_stack, LOAD_BALANCER) if balancer_stack else []
    if not arns:
        return None
    described = aws.client("elbv2").describe_load_balancers(LoadBalancerArns=arns[:1])
    balancer = described["LoadBalancers"][0]
    if balancer.get("IpAddressType") in DUALSTACK_TYPES:
        return f"dualstack.{balancer['DNSName']}"
    return balancer["DNSName"]


def site_records(domain, target):
    return [
        Record(fqdn(domain), APEX_TYPE, fqdn(target)),
        Record(fqdn(f"www.{domain}"), "CNAME", fqdn(target)),
    ]


def show(records, domain, why):
    """Print records to create at the provider, each on one line to copy from: full names, as
    the zone they go in (the domain's own, or one above it) is the user's to know."""
    console.print(f"At the DNS provider of {domain}, create {why}:", style="yellow")
    for record in records:
        console.print(f"  {record.name}  {record.type}  {record.value}", style="bold")
    console.print(
        "Names are in full (the final dot ends them): where the provider asks for a name "
        "relative to your zone there, leave the zone's name off (@ for the zone's apex). "
        "Keep each record DNS only (unproxied).",
        style="yellow",
    )


def show_validation(records, domain):
    show(
        records,
        domain,
        "the certificate's validation record (keep it: ACM renews the certificate through it)",
    )


def show_site(records, domain):
    show(records, domain, "the site's records, pointing at the load balancer")
    console.print(
        f"If {domain} is your zone's apex (the zone at the provider is {domain} itself), it "
        "can hold no CNAME: use the provider's ALIAS, ANAME or CNAME flattening; otherwise a "
        "CNAME. Without any of them, see the tool's docs/dns-at-another-provider.md.",
        style="yellow",
    )


def resolve(name):
    """What public DNS answers for the name, through this machine's resolver; no addresses when
    the name has none. Asked fully qualified, so no search domain of this machine is appended.
    A failure to ask raises OSError."""
    name = fqdn(name).lower()
    try:
        answers = socket.getaddrinfo(
            name, None, proto=socket.IPPROTO_TCP, flags=socket.AI_CANONNAME
        )
    except socket.gaierror as error:
        if error.errno in NO_SUCH_NAME:
            return Answer(name, frozenset())
        raise
    # The first answer carries the canonical name: the end of the name's CNAMEs.
    canonical = answers[0][3] or name
    return Answer(fqdn(canonical).lower(), frozenset(answer[4][0] for answer in answers))


def judge(label, name, target, resolve_name):
    """(state, what the name answers) for one site name. www is right when its CNAMEs end at
    the target. The apex's ALIAS, ANAME or flattening answer addresses instead: right when
    they share one with the target's, looked up now (a load balancer's addresses change, and
    a cache may still hold some it had)."""
    balancer = resolve_name(target)
    if not balancer.addresses:
        raise OSError(f"{target} does not answer yet")
    answer = resolve_name(name)
    if not answer.addresses:
        return "missing", answer
    if answer.canonical == fqdn(target).lower():
        return "ok", answer
    if label == "apex" and answer.addresses & balancer.addresses:
        return "ok", answer
    return "mismatch", answer


def check_site_names(domain, target, resolve_name):
    """For the apex and www: what public DNS answers, against the load balancer.

    A mismatch is asked once more before it is reported: the load balancer's addresses may
    have changed between the two lookups. `resolve_name` is `resolve`, or a test's stand-in.
    Each check names its record "apex" or "www" too: a short label beside the name, which may
    be up to 253 characters.
    """
    checks = []
    for label, record in zip(("apex", "www"), site_records(domain, target), strict=True):
        check = {"record": label, "name": record.name.rstrip("."), "target": target}
        try:
            state, answer = judge(label, record.name, target, resolve_name)
            if state == "mismatch":
                state, answer = judge(label, record.name, target, resolve_name)
        except OSError as error:
            checks.append({**check, "state": "unknown", "reason": str(error), "addresses": []})
            continue
        addresses = sorted(answer.addresses)
        shown = ", ".join(addresses) if label == "apex" else answer.canonical.rstrip(".")
        checks.append(
            {**check, "state": state, "reason": None, "addresses": addresses, "answer": shown}
        )
    return checks


def check_words(check):
    """One check of check_site_names, as the status table says it."""
    state, target = check["state"], check["target"]
    if state == "ok":
        return "ok: answers as the load balancer"
    if state == "missing":
        return f"missing: point it at {target} (`make ns`)"
    if state == "mismatch":
        # What this machine's resolver answers may be a cached old record (for its TTL), and a
        # proxying provider (Cloudflare's proxied records) answers its own addresses.
        return f"mismatch: answers {check['answer']}, not {target} (cached? proxied?)"
    return f"not checked: {check['reason']}"
