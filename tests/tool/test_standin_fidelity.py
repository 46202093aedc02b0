"""The stand-in does what CloudFormation does with a change set (flask_fargate/standin/rules.py):
a change set that would change nothing says so, whichever way the values are given, and the stack
holds exactly the resources its change sets said they would create."""

import json

import pytest
from site_under_test import SITE

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    ARCHITECTURE,
    SERVICE_DEFAULTS,
    V1,
    V2,
    aws,
    deploy,
    deployed,
    endpoint,
    fresh_account,
    push_image,
    replacing,
    use_edited_template,
)
from test_plans import planned

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")

STACKS = (SITE.resources_stack, SITE.service_stack)
AUTOSCALES = SERVICE_DEFAULTS["MaxCount"] != SERVICE_DEFAULTS["DesiredCount"]
SCALING_POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"


def plans_nothing(deploy, *args):
    """`plan` says "no changes" of both stacks, in text and in JSON."""
    status, out, err = deploy("plan", *args)
    assert status == 0, out + err
    assert "would change" not in out
    for stack in STACKS:
        assert f"{stack}: no changes" in out
    status, out, err = deploy("plan", "--output", "json", *args)
    assert status == 0, out + err
    assert [(s["stack"], s["action"], s.get("note")) for s in json.loads(out)] == [
        (stack, None, "no changes") for stack in STACKS
    ]


# ---------------------------------------------------------------- no changes


def test_after_a_rollback_the_next_plan_has_no_changes(aws, deploy, deployed):
    """The rollback gives CpuArchitecture explicitly, later plans leave it to its default: the
    same value, so no change (it was a "would change:" with an empty table)."""
    overrides, _ = deployed
    push_image(aws, V2)
    assert deploy("up", "--yes", "--tag", V2, *overrides)[0] == 0
    status, out, err = deploy("rollback", "--yes")
    assert status == 0, out + err
    plans_nothing(deploy, "--tag", V1, *overrides)


@pytest.mark.answers
def test_a_value_given_equal_to_its_default_is_no_change(aws, deploy, deployed):
    overrides, _ = deployed
    default = ["--set", f"CpuArchitecture={ARCHITECTURE}"]
    status, out, err = deploy("up", "--yes", "--tag", V1, *default, *overrides)
    assert status == 0, out + err
    assert f"{SITE.service_stack}: no changes, the stack already matches" in out
    plans_nothing(deploy, "--tag", V1, *default, *overrides)
    plans_nothing(deploy, "--tag", V1, *overrides)


# ---------------------------------------------------------------- the stack's resources


def listed(aws, stack):
    """(logical id, type) of each resource ListStackResources and DescribeStackResources give,
    each with a physical id."""
    cloudformation = aws("cloudformation")
    summaries = cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    described = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    for resources in (summaries, described):
        assert all(resource.get("PhysicalResourceId") for resource in resources), [
            r for r in resources if not r.get("PhysicalResourceId")
        ]
    pairs = [(r.get("LogicalResourceId"), r.get("ResourceType")) for r in summaries]
    assert pairs == [(r.get("LogicalResourceId"), r.get("ResourceType")) for r in described]
    assert len(set(pairs)) == len(pairs)
    return set(pairs)


def created_by_change_set(aws, stack):
    """(logical id, type) of each resource the CREATE change set the stack ran said it adds."""
    cloudformation = aws("cloudformation")
    (summary,) = [
        s
        for s in cloudformation.list_change_sets(StackName=stack)["Summaries"]
        if s["ExecutionStatus"] == "EXECUTE_COMPLETE"
    ]
    changes = cloudformation.describe_change_set(ChangeSetName=summary["ChangeSetId"])["Changes"]
    assert {change["ResourceChange"]["Action"] for change in changes} == {"Add"}
    return {
        (change["ResourceChange"]["LogicalResourceId"], change["ResourceChange"]["ResourceType"])
        for change in changes
    }


def scaling_policies(aws, stack):
    """The ARNs of the stack's scaling policies, as the stack lists them and as Application
    Auto Scaling describes them."""
    summaries = aws("cloudformation").list_stack_resources(StackName=stack)
    listed_arns = {
        r["PhysicalResourceId"]
        for r in summaries["StackResourceSummaries"]
        if r["ResourceType"] == SCALING_POLICY
    }
    described = aws("application-autoscaling").describe_scaling_policies(ServiceNamespace="ecs")
    return listed_arns, {policy["PolicyARN"] for policy in described["ScalingPolicies"]}


@pytest.mark.answers
def test_a_created_stack_holds_what_its_change_set_listed(aws, deployed):
    for stack in STACKS:
        assert listed(aws, stack) == created_by_change_set(aws, stack), stack
    in_stack, in_autoscaling = scaling_policies(aws, SITE.service_stack)
    assert in_stack == in_autoscaling
    assert bool(in_stack) == AUTOSCALES


@pytest.mark.answers
def test_an_update_adding_a_conditional_resource_holds_what_its_plan_listed(aws, deploy, deployed):
    overrides, _ = deployed
    email = ["--set", "AlarmEmail=ops@example.com"]
    before = listed(aws, SITE.service_stack)
    changes = planned(deploy, "--tag", V1, *email, *overrides)[SITE.service_stack]
    added = {(name, kind) for action, name, kind, _ in changes if action == "Add"}
    assert added == {("AlarmEmailSubscription", "AWS::SNS::Subscription")}
    status, out, err = deploy("up", "--yes", "--tag", V1, *email, *overrides)
    assert status == 0, out + err
    assert listed(aws, SITE.service_stack) == before | added


@pytest.mark.skipif(not AUTOSCALES, reason="this bake's service does not autoscale")
def test_autoscaling_turned_off_and_on_again_removes_and_adds_its_policies(aws, deploy, deployed):
    overrides, _ = deployed
    before = listed(aws, SITE.service_stack)
    policies = {pair for pair in before if pair[1] == SCALING_POLICY}
    assert policies

    off = ["--set", f"MaxCount={SERVICE_DEFAULTS['DesiredCount']}"]
    assert deploy("up", "--yes", "--tag", V1, *off, *overrides)[0] == 0
    assert not listed(aws, SITE.service_stack) & policies
    assert scaling_policies(aws, SITE.service_stack) == (set(), set())

    on = ["--set", f"MaxCount={SERVICE_DEFAULTS['MaxCount']}"]
    changes = planned(deploy, "--tag", V1, *on, *overrides)[SITE.service_stack]
    added = {(name, kind) for action, name, kind, _ in changes if action == "Add"}
    assert policies <= added
    assert deploy("up", "--yes", "--tag", V1, *on, *overrides)[0] == 0
    assert listed(aws, SITE.service_stack) == before
    in_stack, in_autoscaling = scaling_policies(aws, SITE.service_stack)
    assert in_stack == in_autoscaling
    assert len(in_stack) == len(policies)


@pytest.mark.skipif(not AUTOSCALES, reason="this bake's service does not autoscale")
def test_a_changed_policy_is_updated_in_place(aws, deploy, deployed, monkeypatch, tmp_path):
    overrides, _ = deployed
    listed_before = listed(aws, SITE.service_stack)
    arns_before, _ = scaling_policies(aws, SITE.service_stack)
    edit = replacing("TargetValue: 60", "TargetValue: 70")
    use_edited_template(monkeypatch, tmp_path, "service", edit)
    changes = planned(deploy, "--tag", V1, *overrides)[SITE.service_stack]
    assert changes == [("Modify", "CpuScaling", SCALING_POLICY, "False")]
    status, out, err = deploy("up", "--yes", "--tag", V1, *overrides)
    assert status == 0, out + err
    assert listed(aws, SITE.service_stack) == listed_before
    in_stack, in_autoscaling = scaling_policies(aws, SITE.service_stack)
    assert in_stack == in_autoscaling
    assert len(in_stack) == len(arns_before)
    described = aws("application-autoscaling").describe_scaling_policies(ServiceNamespace="ecs")
    targets = {
        policy["PolicyName"]: policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
        for policy in described["ScalingPolicies"]
    }
    assert targets[f"{SITE.service_stack}-cpu"] == 70


@pytest.mark.skipif(not AUTOSCALES, reason="this bake's service does not autoscale")
def test_a_new_maximum_updates_the_scalable_target_in_place(aws, deploy, deployed):
    """Modify ScalableTarget, Replacement False: the same target with the new range, not
    deregistered by the update's cleanup."""
    overrides, _ = deployed
    higher = str(int(SERVICE_DEFAULTS["MaxCount"]) + 1)

    status, out, err = deploy("up", "--yes", "--tag", V1, "--set", f"MaxCount={higher}", *overrides)

    assert status == 0, out + err
    (target,) = aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")[
        "ScalableTargets"
    ]
    assert target["ResourceId"].startswith(f"service/{SITE.slug}/")
    assert target["MaxCapacity"] == int(higher)
