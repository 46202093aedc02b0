"""`destroy` leaves in the account what AWS keeps and nothing else: the stand-in deletes a stack's
resources as CloudFormation does (flask_fargate/standin/rules.py)."""

import pytest
from botocore.exceptions import ClientError
from site_under_test import SITE

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    ACCOUNT,
    FirstImage,
    aws,
    deploy,
    deployed,
    endpoint,
    fresh_account,
    site_overrides,
)

from flask_fargate import image, stacks

REMOVE_REVIEW_STACK = stacks.remove_review_stack

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")


def tagged(aws):
    """The ARNs of the site's stacks' resources, by CloudFormation's stack-name tag."""
    names = [SITE.resources_stack, SITE.service_stack]
    found = aws("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "aws:cloudformation:stack-name", "Values": names}]
    )
    return sorted(r["ResourceARN"] for r in found["ResourceTagMappingList"])


def made(aws, resource_type):
    """The physical ids of the site's stacks' resources of that type."""
    cloudformation = aws("cloudformation")
    return [
        resource["PhysicalResourceId"]
        for stack in (SITE.resources_stack, SITE.service_stack)
        for resource in cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
        if resource.get("ResourceType") == resource_type
    ]


def target_groups_left(aws, arns):
    try:
        return aws("elbv2").describe_target_groups(TargetGroupArns=arns)["TargetGroups"]
    except ClientError as error:  # ELB answers for the first ARN it does not find
        assert error.response["Error"]["Code"] == "TargetGroupNotFound"
        return []


@pytest.mark.answers
def test_destroy_leaves_only_what_aws_keeps(aws, deploy, deployed):
    ecs = aws("ecs")
    kept = [arn for arn in tagged(aws) if ":secretsmanager:" in arn]  # Retain: the app's values
    assert len(kept) == 1
    groups, clusters = (
        made(aws, "AWS::ElasticLoadBalancingV2::TargetGroup"),
        made(aws, "AWS::ECS::Cluster"),
    )
    definitions, services = made(aws, "AWS::ECS::TaskDefinition"), made(aws, "AWS::ECS::Service")
    assert groups and clusters and definitions and services

    status, out, err = deploy("destroy", "--yes")

    assert status == 0, out + err
    # EC2's resources and the secret carry the tag here (moto tags no others); EC2 shows a
    # deleted NAT gateway as "deleted" for a while.
    gone = {
        f"arn:aws:ec2:{SITE.region}:{ACCOUNT}:natgateway/{gateway['NatGatewayId']}"
        for gateway in aws("ec2").describe_nat_gateways()["NatGateways"]
        if gateway["State"] == "deleted"
    }
    assert [arn for arn in tagged(aws) if arn not in gone] == kept
    assert target_groups_left(aws, groups) == []
    # ECS keeps a deleted cluster and service INACTIVE for a while, a task definition for good.
    assert {c["status"] for c in ecs.describe_clusters(clusters=clusters)["clusters"]} <= {
        "INACTIVE"
    }
    (cluster,) = clusters
    described = ecs.describe_services(cluster=cluster, services=services)["services"]
    assert {s["status"] for s in described} == {"INACTIVE"}
    for arn in definitions:
        assert ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"] == (
            "INACTIVE"
        )


def live_stacks_named(aws, name):
    summaries = aws("cloudformation").list_stacks()["StackSummaries"]
    return [
        s["StackStatus"]
        for s in summaries
        if s["StackName"] == name and "DELETE" not in s["StackStatus"]
    ]


def test_a_first_deploy_after_an_interrupted_one_makes_one_stack_of_the_name(
    aws, deploy, monkeypatch
):
    """An interrupted first `up` leaves its stack REVIEW_IN_PROGRESS (its CREATE change set never
    executed): the next one creates that stack, not a second of the same name."""
    overrides = site_overrides(aws)
    monkeypatch.setattr(stacks, "remove_review_stack", lambda aws, name: None)
    status, out, err = deploy("plan", *overrides)
    assert status == 0, out + err
    assert live_stacks_named(aws, SITE.resources_stack) == ["REVIEW_IN_PROGRESS"]
    monkeypatch.setattr(stacks, "remove_review_stack", REMOVE_REVIEW_STACK)
    monkeypatch.setattr(image, "Delivery", FirstImage)  # as test_deploy.py's `deployed`
    status, out, err = deploy("up", "--yes", *overrides)
    assert f"{SITE.resources_stack}: CREATE_COMPLETE" in out, out + err
    assert live_stacks_named(aws, SITE.resources_stack) == ["CREATE_COMPLETE"]


def test_the_stand_in_refuses_a_create_change_set_for_a_stack_that_exists(aws, deploy, deployed):
    with pytest.raises(ClientError, match=r"already exists and cannot be created again"):
        aws("cloudformation").create_change_set(
            StackName=SITE.resources_stack,
            ChangeSetName="again",
            ChangeSetType="CREATE",
            TemplateBody=stacks.resources().body(),
        )
