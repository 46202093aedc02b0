"""The site's Route 53 records: what a deploy would collide with, and what a deletion must clear.

The resources stack creates an A (and, with IPv6, an AAAA) alias record for the apex and for www.
Route 53 refuses to create a record that exists, or any record beside a CNAME of the same name,
and CloudFormation then fails the creation half way, after the network and the load balancer.
Route 53 also refuses to delete a hosted zone holding records other than its NS and SOA, and
deleting a certificate leaves its DNS validation record behind, so a stack cannot delete the
zone it made until those are gone (cloudformation-coverage-roadmap#837).
"""

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


def delegation(domain):
    """Where a new zone's name servers go. A subdomain is delegated by an NS record in its parent's
    zone, never at the registrar, whose name servers serve the whole registered domain (Route 53
    Developer Guide, "Routing traffic for subdomains")."""
    return (
        f"at the registrar of {domain} if it is a registered domain; for a subdomain, as an NS "
        f"record named {domain} in its parent domain's zone (TTL 172800), leaving the parent's "
        "registrar alone"
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
        "list-hosted-zones` lists them); leave it empty to create one",
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
                markup=False,
            )
