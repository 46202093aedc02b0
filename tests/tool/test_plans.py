"""A plan lists what CloudFormation would change, and nothing else, and `up` then does it: the
stand-in's change sets (flask_fargate/standin/rules.py, planned_changes) against the site's own
templates."""

import json

import pytest
from site_under_test import SITE, TEMPLATE, VARIANT

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    HOST,
    RESOURCES_DEFAULTS,
    SERVICE_DEFAULTS,
    V1,
    aws,
    deploy,
    deployed,
    endpoint,
    fresh_account,
    parameter,
    push_image,
    resources_only,
    row,
    site_overrides,
    tag_for,
)

from flask_fargate.standin import rules as moto_rules

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")

# Resource types that only a site with its own network and load balancer has.
NETWORK = {
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::InternetGateway",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
}


def planned(deploy, *args):
    """`plan --output json`: {stack: [(action, logical id, type, replacement)]}."""
    status, out, err = deploy("plan", "--output", "json", *args)
    assert status == 0, out + err
    return {
        summary["stack"]: [
            (c["action"], c["logical_id"], c["type"], c["replacement"])
            for c in summary.get("changes", [])
        ]
        for summary in json.loads(out)
    }


@pytest.mark.skipif(VARIANT != "default", reason="the page shows a site of the default answers")
def test_the_first_deploy_page_counts_the_changes_a_default_sites_creation_makes(
    aws, deploy, monkeypatch
):
    """docs/first-deploy.md shows a first `up`: its count of the resources stack's changes is
    the one that `up` prints for a site of the default answers."""
    out = resources_only(deploy, monkeypatch, *site_overrides(aws))
    (started,) = [
        line
        for line in out.splitlines()
        if line.startswith(f"{SITE.resources_stack}: creation started")
    ]

    assert started in (TEMPLATE / "docs" / "first-deploy.md").read_text().splitlines()


@pytest.mark.answers
def test_a_new_sites_plan_lists_only_the_resources_whose_condition_holds(aws, deploy):
    changes = planned(deploy, *site_overrides(aws))[SITE.resources_stack]
    types = {kind for _, _, kind, _ in changes}
    assert "AWS::ECR::Repository" in types
    if HOST:  # a joining site's network and load balancer are its host's
        assert types & NETWORK == set()
    else:
        assert NETWORK <= types
    # NatGateways 0 makes none, 1 NatGateway1, 2 both.
    nat = 0 if HOST else int(RESOURCES_DEFAULTS["NatGateways"])
    assert sum(kind == "AWS::EC2::NatGateway" for _, _, kind, _ in changes) == nat


@pytest.mark.answers
def test_after_a_set_deploy_the_next_plan_has_no_changes(aws, deploy, deployed):
    overrides, _ = deployed
    scaled = str(int(SERVICE_DEFAULTS["DesiredCount"]) + 1)
    status, out, err = deploy(
        "up", "--yes", "--tag", V1, "--set", f"DesiredCount={scaled}", *overrides
    )
    assert status == 0, out + err
    status, out, err = deploy("plan", "--tag", V1, *overrides)
    assert status == 0, out + err
    assert f"{SITE.resources_stack}: no changes" in out
    assert f"{SITE.service_stack}: no changes" in out
    assert "would change" not in out


def test_a_changed_parameter_plans_the_resources_it_reaches_and_up_does_just_that(
    aws, deploy, deployed
):
    overrides, _ = deployed
    days = ["--set", "LogRetentionDays=14"]
    changes = planned(deploy, "--tag", V1, *days, *overrides)
    # The log group keeps the app's logs that long, the access-log bucket its objects.
    assert changes[SITE.resources_stack] == [
        ("Modify", "AccessLogBucket", "AWS::S3::Bucket", "False"),
        ("Modify", "LogGroup", "AWS::Logs::LogGroup", "False"),
    ]
    assert changes[SITE.service_stack] == []
    status, out, err = deploy("up", "--yes", "--tag", V1, *days, *overrides)
    assert status == 0, out + err
    assert f"{SITE.resources_stack}: update started (2 changes)" in out
    assert parameter(aws, SITE.resources_stack, "LogRetentionDays") == "14"


def test_a_new_image_replaces_the_task_definition_and_updates_the_service(aws, deploy, deployed):
    overrides, _ = deployed
    push_image(aws, tag_for("v9"))
    changes = planned(deploy, "--tag", tag_for("v9"), *overrides)
    assert changes[SITE.service_stack] == [
        ("Modify", "TaskDefinition", "AWS::ECS::TaskDefinition", "True"),
        ("Modify", "Service", "AWS::ECS::Service", "False"),
    ]


def test_a_rolled_back_update_puts_the_parameters_back_and_plans_nothing(
    aws, deploy, deployed, monkeypatch
):
    overrides, _ = deployed
    real = moto_rules.refuse_changed_exports_in_use

    def failing(backend, stack, exported_before):
        raise moto_rules.ResourceFailed("LogGroup", "AWS::Logs::LogGroup", "Rate exceeded")

    monkeypatch.setattr(moto_rules, "refuse_changed_exports_in_use", failing)
    status, out, err = deploy(
        "up", "--yes", "--tag", V1, "--set", "LogRetentionDays=14", *overrides
    )
    assert status == 1, out + err
    assert "UPDATE_ROLLBACK_COMPLETE" in err
    monkeypatch.setattr(moto_rules, "refuse_changed_exports_in_use", real)
    assert (
        parameter(aws, SITE.resources_stack, "LogRetentionDays")
        == (RESOURCES_DEFAULTS["LogRetentionDays"])
    )
    status, out, err = deploy("plan", "--tag", V1, *overrides)
    assert status == 0, out + err
    assert f"{SITE.resources_stack}: no changes" in out


@pytest.mark.answers
def test_status_counts_the_desired_tasks_of_the_site(aws, deploy, deployed):
    status, out, err = deploy("status")
    assert status == 0, out + err
    desired = SERVICE_DEFAULTS["DesiredCount"]
    assert row(out, "tasks").startswith(f"{desired} running / {desired} desired")


@pytest.mark.parametrize("command", ["plan", "up --yes"])
def test_a_tag_not_in_the_repository_is_refused_by_plan_as_by_up(aws, deploy, deployed, command):
    overrides, _ = deployed
    missing = tag_for("nosuchtag")
    status, out, err = deploy(*command.split(), "--tag", missing, *overrides)
    assert status == 2, out + err
    assert err.strip().count("\n") == 0
    assert f"--tag {missing}: no such image in the ECR repository {SITE.slug}" in err
    assert "would change" not in out
