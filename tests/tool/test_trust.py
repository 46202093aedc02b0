"""Trust boundaries against the moto server: a service takes its own site's traffic only
(flask_fargate/own_traffic.py); in CI, a `before` command's output stays out of the job's log."""

import pytest
from site_under_test import SITE

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    HOST,
    V1,
    V2,
    aws,
    deploy,
    deployed,
    endpoint,
    fresh_account,
    one_off_tasks,
    parameter,
    push_image,
    replacing,
    site_overrides,
    stack_names,
    use_edited_template,
)

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")

# Another site in the account: the host, when this site joins one.
OTHER = f"{HOST or 'example-org'}-resources"
OWN_IMPORT = 'TargetGroupArn: {"Fn::ImportValue": !Sub "${ResourcesStackName}-TargetGroupArn"}'
REFUSED = (
    "not a TargetGroup of {stack}: a site's service takes its own traffic only "
    "(the tool's docs/sharing-a-load-balancer.md)"
)


def edited(monkeypatch, tmp_path, stack, old, new):
    """Deploy `stack` ("resources" or "service") from its template with `old` replaced."""
    use_edited_template(monkeypatch, tmp_path, stack, replacing(old, new))


def change_sets(aws):
    """Every change set of the site's stacks (moto lists all of them, whatever StackName says)."""
    listed = aws("cloudformation").list_change_sets(StackName=SITE.service_stack)
    return listed["Summaries"]


def other_target_group(aws):
    """A target group of another site in the same VPC, as ELB names it."""
    vpc = aws("ec2").describe_vpcs()["Vpcs"][-1]["VpcId"]
    created = aws("elbv2").create_target_group(
        Name="example-org", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
    )
    return created["TargetGroups"][0]["TargetGroupArn"]


@pytest.mark.answers
@pytest.mark.parametrize("command", [["plan"], ["up", "--yes"]])
def test_a_service_importing_another_sites_target_group_is_refused_before_any_change(
    aws, deploy, monkeypatch, tmp_path, command
):
    foreign = f'TargetGroupArn: {{"Fn::ImportValue": "{OTHER}-TargetGroupArn"}}'
    edited(monkeypatch, tmp_path, "service", OWN_IMPORT, foreign)

    status, _, err = deploy(*command, "--tag", V1, *site_overrides(aws))

    assert status == 2
    assert err.splitlines() == [
        f"error: cloudformation/service.yaml: Service TargetGroupArn names export "
        f"{OTHER}-TargetGroupArn, " + REFUSED.format(stack=SITE.resources_stack)
    ]
    assert stack_names(aws) == set()


def test_a_deployed_service_pointed_at_another_target_group_gets_no_change_set(
    aws, deploy, deployed, monkeypatch, tmp_path
):
    overrides, _ = deployed
    arn = other_target_group(aws)
    before = change_sets(aws)
    edited(monkeypatch, tmp_path, "service", OWN_IMPORT, f"TargetGroupArn: {arn}")

    status, _, err = deploy("up", "--yes", "--tag", V1, *overrides)

    assert status == 2
    assert err.splitlines() == [
        f"error: cloudformation/service.yaml: Service TargetGroupArn names {arn}, "
        + REFUSED.format(stack=SITE.resources_stack)
    ]
    assert change_sets(aws) == before
    assert parameter(aws, SITE.service_stack, "ImageTag") == V1


def test_the_sites_own_target_group_by_its_arn_deploys(
    aws, deploy, deployed, monkeypatch, tmp_path
):
    overrides, _ = deployed
    resources = aws("cloudformation").describe_stacks(StackName=SITE.resources_stack)["Stacks"][0]
    own = {o["OutputKey"]: o["OutputValue"] for o in resources["Outputs"]}["TargetGroupArn"]
    edited(monkeypatch, tmp_path, "service", OWN_IMPORT, f"TargetGroupArn: {own}")

    status, out, err = deploy("up", "--yes", "--tag", V1, *overrides)

    assert status == 0, out + err


def test_a_resources_output_naming_another_target_group_is_refused(
    aws, deploy, deployed, monkeypatch, tmp_path
):
    """The service's second target group comes from the resources stack's output: an output
    edited to name another site's is refused too, before the resources stack changes."""
    overrides, _ = deployed
    arn = other_target_group(aws)
    before = change_sets(aws)
    old = "  AlternateTargetGroupArn:\n    Value: !Ref AlternateTargetGroup\n"
    edited(
        monkeypatch, tmp_path, "resources", old, f"  AlternateTargetGroupArn:\n    Value: {arn}\n"
    )

    status, _, err = deploy("up", "--yes", "--tag", V1, *overrides)

    assert status == 2
    assert err.splitlines() == [
        f"error: cloudformation/service.yaml: Service AlternateTargetGroupArn names {arn} "
        f"({SITE.resources_stack} output AlternateTargetGroupArn), "
        + REFUSED.format(stack=SITE.resources_stack)
    ]
    assert change_sets(aws) == before


def test_rollback_to_a_service_naming_another_target_group_is_refused(
    aws, deploy, deployed, monkeypatch, tmp_path
):
    """rollback (and `secret --restart`) deploy the service template too."""
    overrides, _ = deployed
    push_image(aws, V2)
    assert deploy("up", "--yes", "--tag", V2, *overrides)[0] == 0
    arn = other_target_group(aws)
    edited(monkeypatch, tmp_path, "service", OWN_IMPORT, f"TargetGroupArn: {arn}")

    status, _, err = deploy("rollback", "--yes")

    assert status == 2
    assert f"Service TargetGroupArn names {arn}, not a TargetGroup" in err
    assert parameter(aws, SITE.service_stack, "ImageTag") == V2


def before_task_stream(aws):
    """The one-off `before` task's log stream, as the container's awslogs options name it."""
    (task,) = one_off_tasks(aws)
    return f"web/web/{task['taskArn'].rpartition('/')[2]}"


@pytest.mark.parametrize("exit_status", [0, 4])
def test_in_github_actions_a_before_commands_output_stays_in_cloudwatch(
    aws, deploy, deployed, monkeypatch, exit_status
):
    """It runs with the site's secrets in its environment; the job's log is the repository's
    readers'. Only its exit status and where its output is are printed."""
    overrides, _ = deployed
    push_image(aws, V2)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    # Prints a value its own words do not hold (the command line is printed).
    command = f"sh -c 'echo eulav-terces | rev; exit {exit_status}'"

    status, out, err = deploy("up", "--yes", "--tag", V2, "--before", command, *overrides)

    assert status == (0 if exit_status == 0 else 1), out + err
    assert "secret-value" not in out + err
    stream = before_task_stream(aws)
    group = f"/ecs/{SITE.slug}"
    said = " ".join(out.split())
    assert (
        f"Its output is not shown in CI, the site's secrets being in its environment: CloudWatch "
        f"Logs group {group}, stream {stream}; `flask-fargate logs --since 1h` prints it (task "
        f"{stream.rpartition('/')[2][:8]})"
    ) in said
    if exit_status == 0:
        assert f"--before `{command}` exited with status 0" in said
    else:
        assert f"error: --before `{command}` exited with status 4: nothing rolled out" in err
    written = aws("logs").get_log_events(logGroupName=group, logStreamName=stream)["events"]
    assert [event["message"].rstrip() for event in written] == ["secret-value"]
    monkeypatch.delenv("GITHUB_ACTIONS")
    status, out, _ = deploy("logs", "--since", "1h")
    assert "secret-value" in out
