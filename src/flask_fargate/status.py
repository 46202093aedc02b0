"""`flask-fargate status`: the site's state gathered as facts, then shown as a table or JSON.

The facts hold what AWS says and nothing worded, so a script reads the same values the table
shows: `flask-fargate status --output json`.
"""

import botocore.exceptions
from rich.text import Text

from flask_fargate import dns, external_dns, host, site, stacks
from flask_fargate.ui import console, status_style, table
from flask_fargate.watch import all_events, first_failure, last_operation

CERTIFICATE = "AWS::CertificateManager::Certificate"


def gather(aws):
    """The site's stacks, service, certificate and address, as AWS describes them now."""
    resources_stack = stacks.describe(aws, stacks.resources().name)
    service_stack = stacks.describe(aws, stacks.service().name)
    facts = {
        "domain": stacks.domain_of(resources_stack) if resources_stack else site.current().domain,
        "region": aws.region,
        "stacks": [
            stack_facts(aws, spec.name, stack)
            for spec, stack in (
                (stacks.resources(), resources_stack),
                (stacks.service(), service_stack),
            )
        ],
        "image": None,
        "service": None,
        "certificates": [],
        "url": None,
        # With DnsProvider external: what public DNS answers for the apex and www.
        "dns": [],
        # The site whose load balancer this one runs on (HostSite), or the sites on this one's.
        "host": None,
        "joined_sites": [],
    }
    if service_stack and service_stack["StackStatus"] != "REVIEW_IN_PROGRESS":
        facts["image"] = stacks.parameters_of(service_stack).get("ImageTag")
        facts["service"] = service_facts(aws, stacks.outputs(service_stack))
    if resources_stack:
        resources = stacks.outputs(resources_stack)
        facts["certificates"] = certificate_facts(aws, resources_stack, resources)
        facts["url"] = resources.get("SiteUrl")
        facts["dns"] = public_dns_facts(aws, resources_stack, facts["domain"])
        facts["host"] = stacks.parameters_of(resources_stack).get("HostSite") or None
        facts["joined_sites"] = [] if facts["host"] else joined_sites(aws)
    return facts


def joined_sites(aws):
    """The sites joined to this one, or None when AWS does not say (a principal that may not
    call ListImports): the rest of the status still shows."""
    try:
        return host.joined_sites(aws)
    except botocore.exceptions.ClientError:
        return None


def public_dns_facts(aws, stack, domain):
    """For DnsProvider external, once the load balancer exists: the records' checks."""
    if not external_dns.is_external(stack):
        return []
    target = external_dns.load_balancer_name(aws, stack["StackId"])
    if target is None:
        return []
    # Looked up when called, so that tests and rehearsals put a stand-in resolver there.
    return external_dns.check_site_names(domain, target, external_dns.resolve)


def stack_facts(aws, name, stack):
    if stack is None:
        return {"name": name, "status": None, "last_failure": None}
    state = stack["StackStatus"]
    failure = None
    if "FAILED" in state or "ROLLBACK" in state:
        events = last_operation(all_events(aws.cloudformation, stack["StackId"]))
        failure = first_failure(events) or stack.get("StackStatusReason") or "no reason given"
    return {"name": name, "status": state, "last_failure": failure}


def service_facts(aws, described):
    """The ECS service's task counts and deployments; None while the stack has no service."""
    if "ServiceName" not in described:
        return None
    found = aws.client("ecs").describe_services(
        cluster=described["ClusterName"], services=[described["ServiceName"]]
    )["services"]
    if not found:
        return {"found": False}
    service = found[0]
    return {
        "found": True,
        "running": service["runningCount"],
        "desired": service["desiredCount"],
        "pending": service["pendingCount"],
        "deployments": [
            {
                "status": deployment["status"],
                "revision": deployment["taskDefinition"].rsplit(":", 1)[-1],
                "rollout": deployment.get("rolloutState"),
                "running": deployment.get("runningCount", 0),
                "desired": deployment.get("desiredCount", 0),
                "reason": deployment.get("rolloutStateReason"),
            }
            for deployment in service.get("deployments", [])
        ],
    }


def certificate_facts(aws, stack, resources):
    # While the stack is being created its outputs are not there yet, and the certificate
    # waiting for validation is exactly what a user looks for.
    arns = [resources["CertificateArn"]] if "CertificateArn" in resources else []
    arns = arns or stacks.physical_ids(aws, stack["StackId"], CERTIFICATE)
    own_zone = bool(stacks.physical_ids(aws, stack["StackId"], dns.ZONE))
    acm = aws.client("acm")
    facts = []
    for arn in arns:
        try:
            state = acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"]
        except acm.exceptions.ResourceNotFoundException:
            state = None
        facts.append(
            {
                "arn": arn,
                "status": state,
                "zone_made_by_the_stack": own_zone,
                "at_dns_provider": external_dns.is_external(stack),
            }
        )
    return facts


def show(facts):
    """The facts as the table `make status` prints."""
    rows = table("", "", title=f"{facts['domain']} in {facts['region']}")
    rows.show_header = False
    for stack in facts["stacks"]:
        state = stack["status"]
        rows.add_row(stack["name"], Text(state or "not created", style=status_style(state or "")))
        if stack["last_failure"]:
            rows.add_row("", Text(f"last failure: {stack['last_failure']}", style="red"))
    if facts["image"] is not None:
        rows.add_row("image", facts["image"])
    service = facts["service"]
    if service is not None and not service["found"]:
        rows.add_row("tasks", "service not found")
    elif service is not None:
        counts = f"{service['running']} running / {service['desired']} desired"
        rows.add_row("tasks", f"{counts} / {service['pending']} pending")
        for deployment in service["deployments"]:
            words = (
                f"revision {deployment['revision']}: {deployment['rollout'] or ''} "
                f"{deployment['running']}/{deployment['desired']} tasks "
                f"{deployment['reason'] or ''}"
            )
            rows.add_row(f"rollout ({deployment['status'].lower()})", Text(words.rstrip()))
    for certificate in facts["certificates"]:
        rows.add_row("certificate", certificate_words(certificate))
    if facts["url"]:
        rows.add_row("url", facts["url"])
    if facts["host"]:
        rows.add_row("load balancer", f"{facts['host']}'s (this site joins it)")
    if facts["joined_sites"]:
        rows.add_row("sites joined", ", ".join(facts["joined_sites"]))
    elif facts["joined_sites"] is None:
        rows.add_row("sites joined", Text("unknown (ListImports was refused)", style="yellow"))
    for check in facts["dns"]:
        style = "green" if check["state"] == "ok" else "yellow"
        rows.add_row(f"dns {check['record']}", Text(external_dns.check_words(check), style=style))
    console.print(rows)
    if facts["stacks"][0]["status"] is None:
        console.print("Nothing is deployed yet: `make deploy` creates both stacks.")


def certificate_words(certificate):
    state = certificate["status"]
    if state is None:
        return "not in ACM any more: `--set CertificateArn=ARN` names another"
    if state != "PENDING_VALIDATION":
        return state
    if certificate["at_dns_provider"]:
        return (
            f"{state} (waits for its validation record at your DNS provider: `make ns` prints it)"
        )
    if certificate["zone_made_by_the_stack"]:
        return f"{state} (waits for the domain to be delegated to the hosted zone: `make ns`)"
    return f"{state} (waits for its validation record in the hosted zone to answer)"
