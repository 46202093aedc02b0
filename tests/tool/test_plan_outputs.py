"""A plan of the service stack after a resources change that changes the outputs the service
takes: CloudFormation plans against the outputs as they are, so the plan says the service changes
once the resources stack has, naming those outputs, and `up` then changes it."""

import json

import pytest
from site_under_test import SITE

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    HOST,
    RESOURCES_DEFAULTS,
    V1,
    aws,
    deploy,
    deployed,
    endpoint,
    fresh_account,
    parameter,
)

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")
own_nat = pytest.mark.skipif(
    bool(HOST), reason=f"this site joins {HOST}, whose NatGateways decides (--set refused)"
)
# NatGateways the other way: on a site of none, a gateway (HasNat turns true); else none.
OTHER_NAT = "1" if RESOURCES_DEFAULTS["NatGateways"] == "0" else "0"


def service_plan(deploy, *args):
    """`plan --output json`'s summary of the service stack, and the text plan's output."""
    status, out, err = deploy("plan", "--output", "json", *args)
    assert status == 0, out + err
    (summary,) = (s for s in json.loads(out) if s["stack"] == SITE.service_stack)
    status, text, err = deploy("plan", *args)
    assert status == 0, text + err
    return summary, text


@pytest.mark.answers
@own_nat
def test_a_plan_that_changes_the_service_subnets_says_the_service_changes_and_up_does(
    aws, deploy, deployed
):
    overrides, _ = deployed
    nat = ["--set", f"NatGateways={OTHER_NAT}"]
    before = parameter(aws, SITE.service_stack, "ServiceSubnetIds")

    summary, text = service_plan(deploy, "--tag", V1, *nat, *overrides)

    assert summary["changed_outputs"] == ["ServiceAssignPublicIp", "ServiceSubnetIds"]
    assert f"{SITE.service_stack}: no changes" not in text
    assert (
        f"{SITE.service_stack}: changes too, as {SITE.resources_stack} changes its outputs "
        "ServiceAssignPublicIp, ServiceSubnetIds, which this stack takes" in text
    )
    status, out, err = deploy("up", "--yes", "--tag", V1, *nat, *overrides)
    assert status == 0, out + err
    assert parameter(aws, SITE.service_stack, "ServiceSubnetIds") != before


def test_a_plan_that_changes_no_output_the_service_takes_says_the_service_has_no_changes(
    deploy, deployed
):
    overrides, _ = deployed

    summary, text = service_plan(deploy, "--tag", V1, "--set", "LogRetentionDays=14", *overrides)

    assert summary["action"] is None
    assert "changed_outputs" not in summary
    assert f"{SITE.service_stack}: no changes" in text


@pytest.mark.answers
@own_nat
def test_a_nat_change_that_keeps_the_tasks_subnets_plans_no_service_change_and_up_makes_none(
    aws, deploy, deployed
):
    """NatGateways 1 -> 2 turns HasTwoNats true but leaves HasNat, which the subnets follow."""
    overrides, _ = deployed
    if RESOURCES_DEFAULTS["NatGateways"] == "0":
        assert deploy("up", "--yes", "--tag", V1, "--set", "NatGateways=1", *overrides)[0] == 0
    nat = ["--set", "NatGateways=2" if parameter(aws, SITE.resources_stack, "NatGateways") == "1"
           else "NatGateways=1"]  # fmt: skip

    summary, text = service_plan(deploy, "--tag", V1, *nat, *overrides)

    assert summary["action"] is None, summary
    assert f"{SITE.service_stack}: no changes" in text
    status, out, err = deploy("up", "--yes", "--tag", V1, *nat, *overrides)
    assert status == 0, out + err
    assert f"{SITE.service_stack}: no changes, the stack already matches" in out


@pytest.mark.answers
def test_a_plan_of_another_domain_names_the_outputs_that_carry_it_and_up_changes_the_service(
    aws, deploy, deployed
):
    """An output that reads a parameter (DomainName: !Ref DomainName) changes with its value."""
    overrides, _ = deployed
    if RESOURCES_DEFAULTS["HostedZoneId"]:
        pytest.skip("another domain needs another hosted zone than the one this site names")
    domain = ["--set", "DomainName=changed-site.example"]

    summary, text = service_plan(deploy, "--tag", V1, *domain, *overrides)

    assert {"DomainName", "SiteUrl"} <= set(summary["changed_outputs"])
    assert f"{SITE.service_stack}: no changes" not in text
    status, out, err = deploy("up", "--yes", "--tag", V1, *domain, *overrides)
    assert status == 0, out + err
    assert parameter(aws, SITE.service_stack, "DomainName") == "changed-site.example"
