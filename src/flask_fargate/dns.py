"""The site's Route 53 records: what a deploy would collide with, and what a deletion must clear.

The resources stack creates an A (and, with IPv6, an AAAA) alias record for the apex and for www.
Route 53 refuses to create a record that exists, or any record beside a CNAME of the same name,
and CloudFormation then fails the creation half way, after the network and the load balancer.
Route 53 also refuses to delete a hosted zone holding records other than its NS and SOA, and
deleting a certificate leaves its DNS validation record behind, so a stack cannot delete the
zone it made until those are gone (cloudformation-coverage-roadmap#837).

A subdomain's new zone answers once its parent's zone delegates to it: an NS record named after
the subdomain, holding the new zone's name servers (Route 53 Developer Guide, "Routing traffic
for subdomains",
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-routing-traffic-for-subdomains.html).
When the parent's zone is a Route 53 zone of the same account, `up` offers to create that record
(not `up --service-only`, which leaves DNS to the deploy that changes the zone, and which CI's
deploy role, without Route 53 rights, runs) and `destroy` removes it with the zone it delegated to.
"""

from dataclasses import dataclass

import botocore.exceptions

from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import console

ZONE = "AWS::Route53::HostedZone"
# ChangeResourceRecordSets takes at most 1,000 records per request (Route 53 quotas).
CHANGES_PER_BATCH = 500
# What the stack creates at the apex and at www.
SITE_RECORD_TYPES = ("A", "AAAA")
# Types Route 53 refuses to create a site record beside.
CONFLICTING_TYPES = (*SITE_RECORD_TYPES, "CNAME")
# A delegation's TTL, as Route 53 gives a new zone's own NS record.
DELEGATION_TTL = 172800


def delegation(domain):
    """Where a new zone's name servers go. A subdomain is delegated by an NS record in its parent's
    zone, never at the registrar, whose name servers serve the whole registered domain (Route 53
    Developer Guide, "Routing traffic for subdomains"). A name of two labels is registered under
    its top-level domain; one of more may be either (shop.example.com, example.co.uk), and only a
    list of public suffixes, which the tool does not carry, would tell which."""
    if domain.count(".") == 1:
        return f"at the registrar of {domain}"
    return (
        f"as an NS record named {domain} in its parent domain's zone (TTL {DELEGATION_TTL}) if it "
        f"is a subdomain, leaving the parent's registrar alone; at the registrar of {domain} only "
        "if it is a registered domain itself (as example.co.uk is)"
    )


def fqdn(name):
    return name if name.endswith(".") else f"{name}."


def name_servers(aws, zone_id):
    zone = aws.client("route53").get_hosted_zone(Id=zone_id)
    return zone["DelegationSet"]["NameServers"]


def records(aws, zone_id):
    pages = (
        aws.client("route53")
        .get_paginator("list_resource_record_sets")
        .paginate(HostedZoneId=zone_id)
    )
    return [record for page in pages for record in page["ResourceRecordSets"]]


def existing_zone(aws, zone_id):
    """The hosted zone named by HostedZoneId, or one line saying it is not in this account."""
    try:
        return aws.client("route53").get_hosted_zone(Id=zone_id)["HostedZone"]
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchHostedZone":
            raise
    raise Abort(
        f"HostedZoneId {zone_id}: no such hosted zone in this account (`aws route53 "
        f"list-hosted-zones {aws.cli_options()}` lists them); leave it empty to create one",
        USAGE,
    )


def refuse_conflicting_records(aws, zone_id, domain):
    """Stop before any change when the existing zone cannot take the site's records."""
    zone = existing_zone(aws, zone_id)
    apex, zone_name = fqdn(domain), fqdn(zone["Name"])
    if apex != zone_name and not apex.endswith(f".{zone_name}"):
        raise Abort(
            f"HostedZoneId {zone_id} is the zone of {zone['Name'].rstrip('.')}, which cannot "
            f"hold records for {domain}: name the zone of {domain} or of a parent domain",
            USAGE,
        )
    names = {apex, f"www.{apex}"}
    taken = [
        f"{record['Name'].rstrip('.')} {record['Type']}"
        for record in records(aws, zone_id)
        if fqdn(record["Name"]) in names and record["Type"] in CONFLICTING_TYPES
    ]
    if taken:
        raise Abort(
            f"Hosted zone {zone_id} already has {', '.join(taken)}, where the site puts its own "
            "alias records to the load balancer; nothing was changed. Delete those records (a "
            "site moving here from elsewhere: once the new one is ready), or deploy another "
            "DomainName",
            USAGE,
        )


def made_by_the_stack(record, apex):
    """The zone's own NS and SOA, and the site records the stack deletes itself."""
    name = fqdn(record["Name"])
    if name == apex and record["Type"] in ("NS", "SOA"):
        return True
    return name in (apex, f"www.{apex}") and record["Type"] in SITE_RECORD_TYPES


def remove_records_not_made_by_the_stack(aws, zone_ids):
    """Delete from these zones (the stack's own) every record the stack did not create."""
    route53 = aws.client("route53")
    for zone_id in zone_ids:
        try:
            apex = fqdn(route53.get_hosted_zone(Id=zone_id)["HostedZone"]["Name"])
        except route53.exceptions.NoSuchHostedZone:
            continue  # deleted already, by a rollback or an earlier, partial deletion
        foreign = [r for r in records(aws, zone_id) if not made_by_the_stack(r, apex)]
        for start in range(0, len(foreign), CHANGES_PER_BATCH):
            batch = foreign[start : start + CHANGES_PER_BATCH]
            changes = [{"Action": "DELETE", "ResourceRecordSet": record} for record in batch]
            route53.change_resource_record_sets(
                HostedZoneId=zone_id, ChangeBatch={"Changes": changes}
            )
        for record in foreign:
            console.print(
                f"Removed {record['Name'].rstrip('.')} {record['Type']} from the hosted zone: "
                "the stack did not create it (a certificate's validation record is one), and "
                "Route 53 deletes no zone that still holds it",
            )


@dataclass(frozen=True)
class ParentZone:
    domain: str
    zone_id: str

    @property
    def name(self):
        """What `up` asks before changing it: "Apply these changes to <name>?"."""
        return f"the hosted zone of {self.domain} ({self.zone_id})"


def parent_zone(aws, domain):
    """The public hosted zone of this account nearest above `domain`, or None."""
    apex = fqdn(domain).lower()
    pages = aws.client("route53").get_paginator("list_hosted_zones").paginate()
    parents = [
        zone
        for page in pages
        for zone in page["HostedZones"]
        if not zone.get("Config", {}).get("PrivateZone")
        and apex.endswith(f".{fqdn(zone['Name']).lower()}")
    ]
    if not parents:
        return None
    zone = max(parents, key=lambda zone: len(zone["Name"]))
    return ParentZone(zone["Name"].rstrip("."), zone["Id"].split("/")[-1])


def servers_of(record):
    return {fqdn(value["Value"]).lower() for value in record.get("ResourceRecords", [])}


def delegating_record(aws, parent, domain):
    """The parent zone's NS record named `domain`, or None."""
    return next(
        (
            record
            for record in records(aws, parent.zone_id)
            if fqdn(record["Name"]).lower() == fqdn(domain).lower() and record["Type"] == "NS"
        ),
        None,
    )


def listable_parent_zone(aws, domain):
    """parent_zone(), or None (said so) where these credentials may not list the zones."""
    try:
        return parent_zone(aws, domain)
    except botocore.exceptions.ClientError as error:
        # ListHostedZones takes no resource but "*" (Service Authorization Reference, Route 53,
        # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html):
        # a role without it, such as a narrow deploy role, cannot look for the parent at all.
        if error.response.get("Error", {}).get("Code") != "AccessDenied":
            raise
        console.print(
            f"Not looking for {domain}'s parent zone in this account: these credentials may not "
            "list hosted zones (route53:ListHostedZones).",
            style="yellow",
        )
        return None


def ns_record(domain, servers):
    """The record in the parent's zone that delegates `domain` to these name servers."""
    return {
        "Name": fqdn(domain),
        "Type": "NS",
        "TTL": DELEGATION_TTL,
        "ResourceRecords": [{"Value": fqdn(server)} for server in servers],
    }


def delegated_elsewhere(parent, domain, existing, record):
    return (
        f"{parent.name} delegates {domain} elsewhere "
        f"({', '.join(sorted(servers_of(existing)))}): to serve {domain} from its new zone, "
        f"change that NS record to {', '.join(sorted(servers_of(record)))}"
    )


def where_they_go(aws, domain, servers):
    """`ns`'s sentence on where the site's zone's name servers go. Where the parent's zone is in
    this account, the domain is a subdomain, delegated by an NS record there, perhaps in place
    already (Route 53 Developer Guide, "Routing traffic for subdomains",
    https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-routing-traffic-for-subdomains.html)."""
    parent = listable_parent_zone(aws, domain)
    if parent is None:
        return f"Set exactly these, {delegation(domain)}."
    record = ns_record(domain, servers)
    existing = delegating_record(aws, parent, domain)
    if existing and servers_of(existing) == servers_of(record):
        return (
            f"{domain} is delegated to them already: {parent.name} holds the NS record named "
            f"{domain} with exactly these."
        )
    if existing:
        return f"{delegated_elsewhere(parent, domain, existing, record)}."
    return (
        f"{domain} is a subdomain of {parent.domain}, whose zone is in this account: add exactly "
        f"these to {parent.name} as an NS record named {domain} (TTL {DELEGATION_TTL}), which "
        "`make deploy` offers to do; not at a registrar."
    )


def offer_delegation(aws, domain, servers, confirm):
    """Where `domain`'s parent zone is a Route 53 zone of this account: show the NS record that
    delegates `domain` to these name servers (its new zone's), and create it there once
    `confirm` (up's question, yes under --yes) says yes. True when the parent delegates to them;
    False where the parent's zone is elsewhere (at the registrar, say: nothing shown), or where
    these credentials may not list the account's zones (said so): the caller then says where the
    name servers go."""
    parent = listable_parent_zone(aws, domain)
    if parent is None:
        return False
    record = ns_record(domain, servers)
    existing = delegating_record(aws, parent, domain)
    if existing and servers_of(existing) == servers_of(record):
        return True
    if existing:  # someone's delegation, perhaps to another provider: not ours to replace
        console.print(delegated_elsewhere(parent, domain, existing, record), style="yellow")
        return False
    console.print(
        f"{domain}'s parent, {parent.domain}, has its zone in this account: this NS record in "
        f"{parent.name} delegates {domain} to its new zone:",
    )
    values = " ".join(value["Value"] for value in record["ResourceRecords"])
    console.print(f"  {record['Name']} {DELEGATION_TTL} NS {values}", style="bold")
    if not confirm(parent):
        console.print(f"Not created: create it yourself for {domain} to answer.")
        return False
    aws.client("route53").change_resource_record_sets(
        HostedZoneId=parent.zone_id,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
    )
    console.print(f"Created it; `make destroy` removes it with {domain}'s zone.")
    return True


def delegation_to(aws, domain, zone_ids):
    """Before the site's own zone is deleted: (parent zone, its NS record delegating to that
    zone), or None. Once the zone is gone, such a record points at name servers that no longer
    answer for the domain."""
    parent = parent_zone(aws, domain) if zone_ids else None
    record = delegating_record(aws, parent, domain) if parent else None
    if record is None:
        return None
    try:
        servers = {fqdn(server).lower() for server in name_servers(aws, zone_ids[0])}
    except aws.client("route53").exceptions.NoSuchHostedZone:
        return None  # gone already: whose servers the record names is not known
    return (parent, record) if servers_of(record) == servers else None


def remove_delegation(aws, delegation):
    """Delete the record delegation_to() found, after the zone it delegated to."""
    if delegation is None:
        return
    parent, record = delegation
    aws.client("route53").change_resource_record_sets(
        HostedZoneId=parent.zone_id,
        ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]},
    )
    console.print(
        f"Removed {record['Name'].rstrip('.')} NS from {parent.name}: it delegated to the zone "
        "deleted with the stack.",
    )
