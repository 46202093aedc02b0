"""`up` with each deploy strategy against the moto server (flask_fargate/standin/deployments.py teaches it
ECS's service deployments): the traffic in plain words, and an alarm's rollback."""

import pytest
from cfnlint.decode import cfn_yaml
from site_under_test import FOLDER, SITE

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    HOST,
    V2,
    aws,
    deploy,
    deployed,
    endpoint,
    fresh_account,
    push_image,
    replacing,
    site_overrides,
    stack_names,
    tag_for,
    use_edited_template,
)

from flask_fargate import deployments, stacks
from flask_fargate.errors import Abort

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account", "site_overrides"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")

# What `up` says while each strategy's deployment moves the traffic, in its order.
TRAFFIC_LINES = {
    "ROLLING": ["Deployment: starting the new tasks", "Deployment SUCCESSFUL"],
    "BLUE_GREEN": [
        "new revision 0 % of the traffic, old revision 100 %",
        "moving the traffic, new revision 100 % of the traffic, old revision 0 %",
        "watching the alarms, the old tasks kept to go back to, new revision 100 % of the "
        "traffic, old revision 0 %, bake: about 5 of 5 min left",
        "Deployment SUCCESSFUL",
    ],
    "CANARY": [
        "moving the traffic, new revision 10 % of the traffic, old revision 90 %, bake: about 5",
        "moving the traffic, new revision 100 % of the traffic",
        "Deployment SUCCESSFUL",
    ],
    "LINEAR": [
        "new revision 25 % of the traffic, old revision 75 %, bake: about 5 of 5 min left",
        "new revision 50 % of the traffic, old revision 50 %",
        "new revision 75 % of the traffic, old revision 25 %",
        "new revision 100 % of the traffic, old revision 0 %",
        "Deployment SUCCESSFUL",
    ],
}


def ecs_service(aws):
    ecs = aws("ecs")
    arn = ecs.list_services(cluster=SITE.slug)["serviceArns"][0]
    return ecs.describe_services(cluster=SITE.slug, services=[arn])["services"][0]


def in_order(out, lines):
    """True when each line's text appears in `out`, after the one before."""
    position = 0
    for text in lines:
        position = out.find(text, position)
        if position < 0:
            return False
    return True


def deploy_image_as(aws, deploy, overrides, tag, strategy):
    """`up --service-only` of a new image `tag` with that strategy: (status, out, err)."""
    push_image(aws, tag)
    return deploy(
        "up", "--yes", "--service-only", "--tag", tag,
        "--set", f"DeploymentStrategy={strategy}", *overrides,
    )  # fmt: skip


@pytest.mark.answers
def test_each_strategy_deploys_and_says_how_the_traffic_moves(aws, deploy, deployed):
    overrides, _ = deployed
    for number, strategy in enumerate(TRAFFIC_LINES, start=2):
        tag = tag_for(f"v{number}")
        status, out, err = deploy_image_as(aws, deploy, overrides, tag, strategy)
        assert status == 0, out + err
        assert in_order(out, TRAFFIC_LINES[strategy]), out
        configuration = ecs_service(aws)["deploymentConfiguration"]
        assert configuration["strategy"] == strategy
        assert configuration["alarms"] == {
            "alarmNames": configuration["alarms"]["alarmNames"],
            "enable": True,
            "rollback": True,
        }
        # The strategies that shift traffic watch the unhealthy tasks in either target group too.
        # No load balancer 5XX alarm on a host's shared load balancer (counted for all its sites).
        watched = (3 if strategy == "ROLLING" else 4) - (1 if HOST else 0)
        assert len(configuration["alarms"]["alarmNames"]) == watched
        # "Amazon ECS deployment failure detection": the circuit breaker supports rolling and
        # blue/green deployments; linear and canary document alarms only.
        assert ("deploymentCircuitBreaker" in configuration) == (
            strategy in ("ROLLING", "BLUE_GREEN")
        )
        (balanced,) = ecs_service(aws)["loadBalancers"]
        assert ("advancedConfiguration" in balanced) == (strategy != "ROLLING")


def test_an_alarm_mid_way_rolls_the_deployment_back_and_up_exits_non_zero(
    aws, deploy, deployed, monkeypatch
):
    overrides, _ = deployed
    before = ecs_service(aws)["taskDefinition"]
    alarm = ecs_service(aws)["deploymentConfiguration"]["alarms"]["alarmNames"][1]
    polls = []

    def the_app_starts_failing(seconds):  # once the canary takes its 10 % (the third look)
        polls.append(seconds)
        if len(polls) == 3:
            aws("cloudwatch").set_alarm_state(
                AlarmName=alarm, StateValue="ALARM", StateReason="5XX above 10 a minute"
            )

    monkeypatch.setattr(deployments.time, "sleep", the_app_starts_failing)
    status, out, err = deploy_image_as(aws, deploy, overrides, V2, "CANARY")

    assert status == 1, out + err
    assert "new revision 10 % of the traffic" in out
    assert f"Deployment rolled back (ROLLBACK_SUCCESSFUL): alarm {alarm} fired" in out
    assert "ECS rolled the deployment back and the site runs the revision before it" in err
    assert ecs_service(aws)["taskDefinition"] == before


# The strategies whose deployments the service stack gives ECS's circuit breaker.
WITH_CIRCUIT_BREAKER = ["ROLLING", "BLUE_GREEN"]


@pytest.mark.parametrize("strategy", WITH_CIRCUIT_BREAKER)
def test_new_tasks_that_cannot_start_trip_the_circuit_breaker_and_up_exits_non_zero(
    aws, deploy, deployed, monkeypatch, strategy
):
    overrides, _ = deployed
    before = ecs_service(aws)["taskDefinition"]
    tag = tag_for("v2")

    def the_image_is_gone(seconds):  # from the deployment's second look on, no task can pull it
        aws("ecr").batch_delete_image(repositoryName=SITE.slug, imageIds=[{"imageTag": tag}])

    monkeypatch.setattr(deployments.time, "sleep", the_image_is_gone)
    status, out, err = deploy_image_as(aws, deploy, overrides, tag, strategy)

    assert status == 1, out + err
    # Two tasks failed at each of two looks; ECS's threshold is half the count, at least 3.
    assert (
        "Deployment rolled back (ROLLBACK_SUCCESSFUL): new tasks failed to start or stay healthy "
        "4 times (the circuit breaker stops at 3); ECS deployment circuit breaker: tasks failed "
        "to start." in out
    )
    assert "ECS rolled the deployment back and the site runs the revision before it" in err
    assert ecs_service(aws)["taskDefinition"] == before
    if strategy != "ROLLING":
        assert serving(aws) == "TargetGroupArn"


def test_when_cloudformation_rolls_the_stack_back_up_says_why_ecs_rolled_back(
    aws, deploy, deployed, monkeypatch
):
    """On AWS, ECS's rollback fails the service's update: CloudFormation rolls the stack back
    (a second deployment, to the revision before) and `up` sees the failed update first."""
    overrides, _ = deployed
    alarm = ecs_service(aws)["deploymentConfiguration"]["alarms"]["alarmNames"][0]
    cloudwatch, ecs = aws("cloudwatch"), aws("ecs")
    real = stacks.deploy

    def with_cloudformations_rollback(tool_aws, spec, parameters, *args, **options):
        before = stacks.parameters_of(stacks.describe(tool_aws, spec.name))["ImageTag"]
        real(tool_aws, spec, parameters, *args, **options)
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="5XX")
        service = ecs_service(aws)["serviceArn"]
        (newest, *_) = ecs.list_service_deployments(cluster=SITE.slug, service=service)[
            "serviceDeployments"
        ]
        ecs.describe_service_deployments(serviceDeploymentArns=[newest["serviceDeploymentArn"]])
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="rolled back")
        # Part of the failed update's operation on AWS: not watched as an operation of its own.
        real(
            tool_aws,
            spec,
            {**parameters, "ImageTag": before},
            *args,
            **{**options, "on_poll": None},
        )
        raise Abort(f"{spec.name}: UPDATE_ROLLBACK_COMPLETE")

    monkeypatch.setattr(stacks, "deploy", with_cloudformations_rollback)
    status, out, err = deploy_image_as(aws, deploy, overrides, V2, "CANARY")

    assert status == 1, out + err
    assert "UPDATE_ROLLBACK_COMPLETE" in err
    assert f"Deployment rolled back (ROLLBACK_SUCCESSFUL): alarm {alarm} fired" in out
    assert "CloudFormation's rollback: Deployment" in out
    assert f"ECS rolled the deployment back, then CloudFormation the stack: alarm {alarm}" in out
    assert "the new revision serves the site" not in out


def test_rollback_follows_the_deployment_of_a_shifting_strategy(aws, deploy, deployed):
    overrides, _ = deployed
    status, out, err = deploy_image_as(aws, deploy, overrides, V2, "BLUE_GREEN")
    assert status == 0, out + err
    status, out, err = deploy("rollback", "--yes")
    assert status == 0, out + err
    assert in_order(out, TRAFFIC_LINES["BLUE_GREEN"]), out


def serving(aws):
    """The output naming the target group the production rule sends the traffic to."""
    stack = aws("cloudformation").describe_stacks(StackName=f"{SITE.slug}-resources")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    (rule,) = aws("elbv2").describe_rules(RuleArns=[outputs["ProductionListenerRuleArn"]])["Rules"]
    (action,) = rule["Actions"]
    (served,) = [g for g in action["ForwardConfig"]["TargetGroups"] if g["Weight"] == 100]
    names = {outputs[k]: k for k in ("TargetGroupArn", "AlternateTargetGroupArn")}
    return names[served["TargetGroupArn"]]


def test_going_back_to_rolling_waits_until_a_deploy_moves_the_traffic_to_target_group(
    aws, deploy, deployed
):
    overrides, _ = deployed

    def up(name, strategy):
        return deploy_image_as(aws, deploy, overrides, tag_for(name), strategy)

    assert up("v2", "BLUE_GREEN")[0] == 0
    assert serving(aws) == "AlternateTargetGroupArn"
    status, out, err = up("v3", "ROLLING")
    assert status == 2, out + err
    assert err.strip().count("\n") == 0
    assert "DeploymentStrategy ROLLING: the site is served from AlternateTargetGroup" in err
    assert serving(aws) == "AlternateTargetGroupArn"
    # ECS starts the next deploy's tasks in the group not serving and moves the traffic there.
    assert up("v4", "BLUE_GREEN")[0] == 0
    assert serving(aws) == "TargetGroupArn"
    status, out, err = up("v5", "ROLLING")
    assert status == 0, out + err


# Template updates that change ProductionRule other than by its conditions (its actions, its
# priority): CloudFormation updates the rule and writes its own weights all the same.
RULE_EDITS = {
    "Actions": ("        - Type: forward\n", "        - Type: forward\n          Order: 1\n"),
    "Priority": ("      Priority: !Ref ListenerRulePriority", "      Priority: 7"),
}


@pytest.mark.parametrize("changed", RULE_EDITS)
def test_a_template_changing_the_rule_while_the_alternate_group_serves_is_refused(
    aws, deploy, deployed, monkeypatch, tmp_path, changed
):
    overrides, _ = deployed
    assert deploy_image_as(aws, deploy, overrides, tag_for("v2"), "BLUE_GREEN")[0] == 0
    assert serving(aws) == "AlternateTargetGroupArn"
    use_edited_template(monkeypatch, tmp_path, "resources", replacing(*RULE_EDITS[changed]))
    push_image(aws, tag_for("v3"))
    status, out, err = deploy("up", "--yes", "--tag", tag_for("v3"), *overrides)
    assert status == 2, out + err
    assert err.strip().count("\n") == 0
    assert f"ProductionRule's {changed} (this template's update): the site is served from" in err
    assert serving(aws) == "AlternateTargetGroupArn"


def test_the_bake_the_tool_refuses_is_the_one_the_service_stack_refuses(aws, deploy):
    template = cfn_yaml.load(str(FOLDER / "cloudformation" / "service.yaml"))
    assert template["Parameters"]["BakeMinutes"]["MaxValue"] == deployments.MAX_BAKE_MINUTES
    status, out, err = deploy(
        "up", "--yes", "--set", f"BakeMinutes={deployments.MAX_BAKE_MINUTES + 1}",
        *site_overrides(aws),
    )  # fmt: skip
    assert status == 2, out + err
    assert err.strip().count("\n") == 0
    assert "--set BakeMinutes=31: expected a whole number from 0 to 30 (service.yaml)" in err


@pytest.mark.parametrize("value", ["canary", "BLUE-GREEN", ""])
def test_an_unknown_strategy_is_one_line_and_exit_2_before_any_change(aws, deploy, value):
    status, out, err = deploy(
        "up", "--yes", "--set", f"DeploymentStrategy={value}", *site_overrides(aws)
    )
    assert status == 2
    assert err.strip().count("\n") == 0
    expected = "expected one of ROLLING, BLUE_GREEN, CANARY, LINEAR (service.yaml)"
    assert f"--set DeploymentStrategy={value}: {expected}" in err
    assert stack_names(aws) == set()
