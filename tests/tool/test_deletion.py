"""`destroy` leaves in the account what AWS keeps and nothing else: the stand-in deletes a stack's
resources as CloudFormation does (flask_fargate/standin/rules.py)."""

import pytest
from botocore.exceptions import ClientError
from site_under_test import SITE

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import aws, deploy, deployed, endpoint, fresh_account

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
    # EC2's resources and the secret carry the tag here (moto tags no others).
    assert tagged(aws) == kept
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
