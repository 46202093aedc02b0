"""A domain whose DNS is at another provider (DnsProvider external): the records to create
there, and whether public DNS answers them.

The stacks then make no hosted zone and no records. The certificate is validated through a
CNAME that ACM names and the user creates at the provider; until it answers, the certificate
stays PENDING_VALIDATION and CloudFormation's creation of the stack waits (AWS::CertificateManager::
Certificate, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-certificatemanager-certificate.html).
The record must stay afterwards: ACM renews the certificate through it
(https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html). The site's names point
at the load balancer's DNS name: www by a CNAME; the apex cannot hold a CNAME (a zone's apex
holds its SOA and NS, and a CNAME allows no other record beside it, RFC 1034 section 3.6.2), so
it takes the provider's ALIAS, ANAME or CNAME flattening, which answer the target's addresses.
"""

import socket
from dataclasses import dataclass

from deploy import stacks
from deploy.ui import console

EXTERNAL = "external"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
APEX_TYPE = "ALIAS/ANAME or CNAME flattening"
# getaddrinfo's answers for a name that has no address (NXDOMAIN, or no A/AAAA record).
NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


@dataclass(frozen=True)
class Record:
    name: str  # fully qualified, with the final dot
    type: str
    value: str

    def host(self, domain):
        """The name as providers that add the domain themselves take it (@ for the apex)."""
        if self.name == fqdn(domain):
            return "@"
        return self.name.removesuffix(f".{fqdn(domain)}")


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
    """The load balancer's DNS name once it exists, or None. Read from the stack's resources,
    not its outputs: it exists while the creation still waits for the certificate."""
    arns = stacks.physical_ids(aws, stack_id, LOAD_BALANCER)
    if not arns:
        return None
    described = aws.client("elbv2").describe_load_balancers(LoadBalancerArns=arns[:1])
    return described["LoadBalancers"][0]["DNSName"]


def site_records(domain, target):
    return [
        Record(fqdn(domain), APEX_TYPE, fqdn(target)),
        Record(fqdn(f"www.{domain}"), "CNAME", fqdn(target)),
    ]


def show(records, domain, why):
    """Print records to create at the provider, each on one line to copy from."""
    console.print(f"At the DNS provider of {domain}, create {why}:", style="yellow")
    for record in records:
        console.print(
            f"  {record.name}  {record.type}  {record.value}  (host: {record.host(domain)})",
            style="bold",
            markup=False,
        )


def show_validation(records, domain):
    show(
        records,
        domain,
        "the certificate's validation record (keep it: ACM renews the certificate through it)",
    )


def show_site(records, domain):
    show(records, domain, "the site's records, pointing at the load balancer")


def resolve(name):
    """The addresses public DNS gives for the name (through this machine's resolver); an empty
    set when the name has none. A failure to ask raises OSError."""
    try:
        answers = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        if error.errno in NO_SUCH_NAME:
            return frozenset()
        raise
    return frozenset(answer[4][0] for answer in answers)


def check_site_names(domain, target, resolve_name):
    """For the apex and www: what public DNS answers, against the load balancer's addresses.

    A name is right when it answers addresses and all of them are the load balancer's (an old A
    record left beside the new one would send some visitors elsewhere). `resolve_name` is
    `resolve`, or a test's stand-in. Each check names its record "apex" or "www" too: a short
    label beside the name, which may be up to 253 characters.
    """
    try:
        expected = resolve_name(target)
    except OSError as error:
        expected, failure = frozenset(), str(error)
    else:
        failure = None if expected else f"{target} does not answer yet"
    checks = []
    for label, record in zip(("apex", "www"), site_records(domain, target), strict=True):
        name = record.name.rstrip(".")
        check = {"record": label, "name": name, "type": record.type, "target": target}
        check["addresses"] = []
        if failure:
            checks.append({**check, "state": "unknown", "reason": failure})
            continue
        try:
            answered = resolve_name(name)
        except OSError as error:
            checks.append({**check, "state": "unknown", "reason": str(error)})
            continue
        if not answered:
            state = "missing"
        elif answered <= expected:
            state = "ok"
        else:
            state = "wrong"
        checks.append({**check, "addresses": sorted(answered), "state": state, "reason": None})
    return checks


def check_words(check):
    """One check of check_site_names, as the status table says it."""
    state, kind, target = check["state"], check["type"], check["target"]
    if state == "ok":
        return "ok: the load balancer's addresses"
    if state == "missing":
        return f"missing: create {kind} to {target}"
    if state == "wrong":
        return f"wrong: answers {', '.join(check['addresses'])}, not only {target}'s addresses"
    return f"not checked: {check['reason']}"
