"""What a new user's walk through the template found: destroy's delete-secret command printed with
an emoji for ":secret:", a subdomain's hand-made delegation left pointing at a deleted zone, and
day-two commands against a stand-in refused for want of credentials it never checks."""

import re

import pytest
from site_under_test import SITE

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    HOST,
    OWN_ZONE,
    aws,
    deploy,
    deployed,
    endpoint,
    fresh_account,
    resources_only,
    site_overrides,
)

from flask_fargate import dns, ui

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")
needs_own_zone = pytest.mark.skipif(
    not OWN_ZONE or bool(HOST), reason="this site's stack makes no zone of its own"
)


def test_the_console_prints_aws_values_as_they_are(capsys):
    """rich would make ":secret:" an emoji and eat "[...]" as markup."""
    value = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:[bold]site[/]-Ab12Cd"
    ui.console.print(value)
    ui.errors.print(value)
    assert capsys.readouterr() == (f"{value}\n", f"{value}\n")


def test_destroy_prints_a_delete_secret_command_that_can_be_pasted(aws, deploy, deployed):
    (secret,) = [
        s["ARN"]
        for s in aws("secretsmanager").list_secrets()["SecretList"]
        if SITE.slug in s["ARN"]
    ]
    assert ":secret:" in secret

    status, out, err = deploy("destroy", "--yes")

    assert status == 0, out + err
    assert re.search(r"delete-secret --secret-id (\S+) ", out)[1] == secret


def delegation_warning(domain):
    return (
        f"{domain}'s hosted zone is deleted, but not its delegation, which was made "
        f"{dns.delegation(domain)}: undo it there"
    )


SUB = "shop.example.org"


@needs_own_zone
@pytest.mark.parametrize("parent_in_the_account", [False, True])
def test_destroy_says_to_remove_a_delegation_it_cannot_remove_itself(
    aws, deploy, monkeypatch, parent_in_the_account
):
    """Where the parent's zone is elsewhere, the user made the NS record by hand, and it would
    name the deleted zone's name servers (DeleteHostedZone, Route 53 API Reference: "someone
    could hijack the domain"). Where it is in the account, destroy removes the record itself."""
    route53 = aws("route53")
    resources_only(deploy, monkeypatch, *site_overrides(aws), "--set", f"DomainName={SUB}")
    if parent_in_the_account:  # the record as `up` offers to create it
        parent = route53.create_hosted_zone(Name="example.org", CallerReference="parent")
        (own,) = [
            z["Id"]
            for z in route53.list_hosted_zones()["HostedZones"]
            if z["Name"].rstrip(".") == SUB
        ]
        servers = route53.get_hosted_zone(Id=own)["DelegationSet"]["NameServers"]
        record = {
            "Name": f"{SUB}.",
            "Type": "NS",
            "TTL": 172800,
            "ResourceRecords": [{"Value": server} for server in servers],
        }
        route53.change_resource_record_sets(
            HostedZoneId=parent["HostedZone"]["Id"],
            ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
        )

    status, out, err = deploy("destroy", "--yes")

    assert status == 0, out + err
    said = delegation_warning(SUB) in " ".join(out.split())
    assert said != parent_in_the_account
    assert ("Removed shop.example.org NS" in out) == parent_in_the_account


@needs_own_zone
def test_destroy_with_a_zone_the_stack_did_not_make_says_nothing_of_delegations(
    aws, deploy, monkeypatch
):
    """The zone named by HostedZoneId outlives the stack, its delegation with it."""
    zone = aws("route53").create_hosted_zone(Name=SITE.domain, CallerReference="own")
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    overrides = [*site_overrides(aws), "--set", f"HostedZoneId={zone_id}"]
    resources_only(deploy, monkeypatch, *overrides)

    status, out, err = deploy("destroy", "--yes")

    assert status == 0, out + err
    assert "but not its delegation" not in out


def test_day_two_against_a_stand_in_needs_no_credentials(aws, deploy, deployed, monkeypatch):
    """`plan --endpoint-url` after `rehearse --serve`, in a shell holding no AWS credentials."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    status, out, err = deploy("plan", *deployed[0])

    assert status == 0, out + err
    assert f"{SITE.service_stack}: no changes" in out
    (said,) = err.splitlines()
    assert said.startswith("No AWS credentials found: signing for http://") and said.endswith(
        "with dummy ones (a moto server takes any)"
    )
