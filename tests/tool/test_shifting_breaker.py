"""The deploy tool's circuit breaker for CANARY and LINEAR deploys, which ECS gives none: new
tasks that stop before they ever serve cancel the service stack's update; and what `up` says when
an update starts no deployment, or a first one has no old tasks."""

import contextlib
import types

import pytest
from botocore.exceptions import ClientError
from site_under_test import SITE
from test_deploy import (
    V1,
    V2,
    FirstImage,
    aws,
    calls_recorded,
    deploy,
    deploy_role_actions,
    deployed,
    endpoint,
    fresh_account,
    site_overrides,
)
from test_deploy_strategies import deploy_image_as, ecs_service

from flask_fargate import deployments, image, stacks, watch

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account", "site_overrides"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")


def image_gone_once_the_service_change_set_is_shown(aws, monkeypatch, tag):
    """The image leaves ECR while `up` shows the service stack's change set (a lifecycle rule, a
    colleague): every task of the new revision then fails to start."""
    shown, ecr = stacks.print_changes, aws("ecr")

    def then_the_image_goes(summary):
        shown(summary)
        # A first `up` shows the resources stack's first, before the repository exists.
        with contextlib.suppress(ecr.exceptions.RepositoryNotFoundException):
            ecr.batch_delete_image(repositoryName=SITE.slug, imageIds=[{"imageTag": tag}])

    monkeypatch.setattr(stacks, "print_changes", then_the_image_goes)


def polls_at_most(monkeypatch, most):
    """Without the tool's breaker, the stand-in holds the update as AWS does, for hours: fail
    after `most` polls of the stack instead of waiting for ever."""
    polls = []

    def poll(seconds):
        polls.append(seconds)
        assert len(polls) < most, "the stack's operation never ended"

    monkeypatch.setattr(watch, "time", types.SimpleNamespace(sleep=poll))


def running_image(aws):
    arn = ecs_service(aws)["taskDefinition"]
    described = aws("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return described["containerDefinitions"][0]["image"].rpartition(":")[2]


def deployment_count(aws):
    service = ecs_service(aws)
    found = aws("ecs").list_service_deployments(cluster=SITE.slug, service=service["serviceArn"])
    return len(found["serviceDeployments"])


@pytest.mark.parametrize("strategy", sorted(deployments.WITHOUT_BREAKER))
def test_new_tasks_that_never_start_cancel_a_shifting_update_and_the_stack_rolls_back(
    aws, deploy, deployed, monkeypatch, strategy
):
    overrides, _ = deployed
    image_gone_once_the_service_change_set_is_shown(aws, monkeypatch, V2)
    polls_at_most(monkeypatch, 200)
    called = calls_recorded(monkeypatch)

    status, out, err = deploy_image_as(aws, deploy, overrides, V2, strategy)
    called = set(called)  # the tool's calls, not the checks below

    assert status == 1, out + err
    # Two tasks fail at each look; at the second, 4 reach ECS's threshold (half of 2, at least 3).
    assert (
        f"{SITE.slug}-service: 4 new tasks stopped before they ever served (ECS stops a ROLLING "
        f"or BLUE_GREEN deploy at 3; {strategy} has no circuit breaker), the last: "
        "CannotPullContainerError" in out
    )
    assert "Cancelling the update: CloudFormation rolls the stack back" in out
    assert "Deployment STOPPED\n" in out  # replaced by CloudFormation's rollback
    assert (
        f"{SITE.slug}-service ended UPDATE_ROLLBACK_COMPLETE. First failure: Service "
        "(AWS::ECS::Service): Resource update cancelled. The stack is back as it was before"
    ) in err
    assert running_image(aws) == V1
    assert "cloudformation:CancelUpdateStack" in called
    assert sorted(a for a in called if a.lower() not in deploy_role_actions()) == []


def test_a_first_shifting_deploy_whose_tasks_never_start_says_what_to_do(aws, deploy, monkeypatch):
    monkeypatch.setattr(image, "Delivery", FirstImage)
    image_gone_once_the_service_change_set_is_shown(aws, monkeypatch, V1)
    polls_at_most(monkeypatch, 200)
    # Only the service stack's change set is shown after the image is pushed.
    status, out, err = deploy(
        "up", "--yes", "--set", "DeploymentStrategy=LINEAR", *site_overrides(aws)
    )

    assert status == 1, out + err
    assert "new tasks stopped before they ever served" in err
    assert "A first deploy cannot be cancelled" in err
    assert "once the creation has rolled back, `flask-fargate up --recreate` creates" in err


def test_a_change_ecs_does_not_deploy_is_no_rollout(aws, deploy, deployed):
    overrides, _ = deployed
    assert deploy_image_as(aws, deploy, overrides, V2, "CANARY")[0] == 0
    count = deployment_count(aws)

    status, out, err = deploy(
        "up", "--yes", "--service-only", "--tag", V2, "--set", "DesiredCount=3"
    )

    assert status == 0, out + err
    assert deployment_count(aws) == count
    assert "no rollout: this update changed nothing ECS deploys" in out
    assert "moving the traffic" not in out


def test_a_first_blue_green_deploy_speaks_of_no_old_tasks(aws, deploy, monkeypatch):
    monkeypatch.setattr(image, "Delivery", FirstImage)
    status, out, err = deploy(
        "up", "--yes", "--set", "DeploymentStrategy=BLUE_GREEN", *site_overrides(aws)
    )

    assert status == 0, out + err
    assert "Deployment: watching the alarms, the new revision takes all the traffic" in out
    assert "old tasks" not in out


def test_list_tasks_takes_started_by_only_alone_and_lists_running_tasks_by_default(aws, deployed):
    """As ECS's ListTasks: "When you specify startedBy as the filter, it must be the only filter
    that you use", and "The default status filter is RUNNING"."""
    ecs = aws("ecs")
    started_by = ecs_service(aws)["deployments"][0]["id"]
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="only filter"):
        ecs.list_tasks(cluster=SITE.slug, startedBy=started_by, desiredStatus="STOPPED")
    stopped = ecs.list_tasks(cluster=SITE.slug, desiredStatus="STOPPED")["taskArns"]
    by_default = ecs.list_tasks(cluster=SITE.slug)["taskArns"]
    assert not set(stopped) & set(by_default)


def test_a_deploy_role_without_the_breakers_rights_deploys_on_and_says_so(monkeypatch, capsys):
    """A site's deploy role from before the breaker lacks ecs:ListTasks until the resources
    stack is deployed again (CI runs --service-only): the deploy goes on without the breaker,
    said once, and nothing is cancelled (the follower has no AWS to cancel with)."""

    def access_denied(self):
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "ListTasks"
        )

    monkeypatch.setattr(deployments.Follower, "never_served", access_denied)
    follower = deployments.Follower(aws=None)
    canary = {"deploymentConfiguration": {"strategy": "CANARY"}, "status": "IN_PROGRESS"}

    follower.break_circuit(canary, types.SimpleNamespace(status="UPDATE_IN_PROGRESS"))

    assert follower.tripped  # on_poll asks no more
    out = " ".join(capsys.readouterr().out.split())
    assert (
        f"{SITE.slug}-service: the tool's circuit breaker is off for this deploy "
        "(AccessDeniedException: not authorized); `make deploy` from a workstation updates the "
        "deploy role."
    ) in out
