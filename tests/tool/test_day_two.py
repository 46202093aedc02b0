"""Day two on the stand-in, as an operator meets it: `--set` values the templates or Fargate
refuse, Ctrl-C at each step of a deploy, a failure whose reason is on the
stack's own event, and what `--before` and `plan` say (issue 20, items 9, 15 to 18 and 22)."""

import types

import pytest
from moto.cloudformation.models import cloudformation_backends
from site_under_test import SITE

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    ACCOUNT,
    RESOURCES_DEFAULTS,
    SERVICE_DEFAULTS,
    V1,
    V2,
    V3,
    aws,
    change_set_run,
    deploy,
    deployed,
    endpoint,
    export_and_import,
    first_image,
    fresh_account,
    one_off_tasks,
    parameter,
    push_image,
    resources_only,
    site_overrides,
    stack_names,
    terminal,
    use_edited_template,
    with_default,
)

from flask_fargate import deployments, fargate, rollout, stacks, ui, watch

__all__ = [
    "aws",
    "deploy",
    "deployed",
    "endpoint",
    "first_image",
    "fresh_account",
    "terminal",
]
pytestmark = [
    pytest.mark.filterwarnings("ignore:Tried to parse AWS::"),
    pytest.mark.filterwarnings("ignore:Exception.STSClientError. with code AccessDenied"),
]

# ---------------------------------------------------------------- --set checked before any change

BAD_VALUES = [
    ("DesiredCount=-1", "expected a whole number from 1 to 5000 (service.yaml)"),
    ("DesiredCount=0", "expected a whole number from 1 to 5000 (service.yaml)"),
    ("DesiredCount=abc", "expected a whole number from 1 to 5000 (service.yaml)"),
    ("DesiredCount=2.5", "expected a whole number from 1 to 5000 (service.yaml)"),
    ("MaxCount=abc", "expected a whole number from 1 to 5000 (service.yaml)"),
    ("BakeMinutes=abc", "expected a whole number from 0 to 30 (service.yaml)"),
    ("DeploymentStrategy=FAST", "expected one of ROLLING, BLUE_GREEN, CANARY, LINEAR"),
    ("Memory=12", "expected a match of ^[0-9]{3,6}$ (service.yaml)"),
]
if "AlbIdleTimeout" in RESOURCES_DEFAULTS:  # a site of its own load balancer
    BAD_VALUES += [
        ("AlbIdleTimeout=abc", "expected a whole number from 1 to 74 (resources.yaml)"),
        ("LogRetentionDays=13", "expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180,"),
    ]


@pytest.mark.parametrize("command", ["plan", "up --yes"])
@pytest.mark.parametrize(("setting", "allowed"), BAD_VALUES)
def test_a_set_value_the_template_refuses_is_one_line_before_any_change(
    aws, deploy, command, setting, allowed
):
    status, _, err = deploy(*command.split(), "--set", setting, *site_overrides(aws))

    assert status == 2
    (line,) = err.splitlines()
    assert line.startswith(f"error: --set {setting}: {allowed}")
    assert stack_names(aws) == set()


def fargate_refusal(given, cpu, memory):
    return (
        f"error: --set {given}: Memory {memory} is not a Fargate size for {cpu} CPU units "
        f"(allowed: {fargate.memory_words(int(cpu))})"
    )


@pytest.mark.parametrize("command", ["plan", "up --yes"])
def test_a_task_size_fargate_does_not_run_is_one_line_before_any_change(aws, deploy, command):
    status, _, err = deploy(
        *command.split(), "--set", "Cpu=4096", "--set", "Memory=512", *site_overrides(aws)
    )
    assert (status, err.splitlines()) == (2, [fargate_refusal("Cpu=4096 Memory=512", 4096, 512)])
    assert err.splitlines() == [
        "error: --set Cpu=4096 Memory=512: Memory 512 is not a Fargate size for 4096 CPU units "
        "(allowed: 8192-30720 in steps of 1024)"
    ]
    # Memory alone: with the template's Cpu.
    status, _, err = deploy(*command.split(), "--set", "Memory=1000", *site_overrides(aws))
    cpu = SERVICE_DEFAULTS["Cpu"]
    assert (status, err.splitlines()) == (2, [fargate_refusal("Memory=1000", cpu, 1000)])
    assert stack_names(aws) == set()


def test_one_of_cpu_and_memory_is_checked_with_the_deployed_other(aws, deploy, deployed):
    overrides, _ = deployed
    assert deploy("up", "--yes", "--tag", V1, "--set", "Cpu=1024", "--set", "Memory=3072")[0] == 0

    status, _, err = deploy("plan", "--set", "Cpu=4096", *overrides)

    assert (status, err.splitlines()) == (2, [fargate_refusal("Cpu=4096", 4096, 3072)])
    status, out, err = deploy("plan", "--set", "Cpu=512", *overrides)  # 3072 fits 512 too
    assert status == 0, out + err
    assert parameter(aws, SITE.service_stack, "Cpu") == "1024"


def test_a_template_default_fargate_does_not_run_is_refused_before_any_change(
    aws, deploy, monkeypatch, tmp_path
):
    """As a site made by cruft from git, whose bake could not check the size (the hook reads
    the table from the template's checkout), or whose service.yaml was edited."""
    cpu = SERVICE_DEFAULTS["Cpu"]
    memory = str(fargate.FARGATE_MEMORY[int(cpu)][-1] * 2)
    use_edited_template(monkeypatch, tmp_path, "service", with_default("Memory", memory))

    status, _, err = deploy("plan", *site_overrides(aws))

    assert status == 2
    assert err.splitlines() == [
        f"error: Cpu {cpu} and Memory {memory}: Memory {memory} is not a Fargate size for {cpu} "
        f"CPU units (allowed: {fargate.memory_words(int(cpu))})"
    ]
    assert stack_names(aws) == set()


def test_fargate_sizes_in_words():
    sizes = fargate.FARGATE_MEMORY
    assert fargate.memory_words(256) == "512, 1024, 2048"
    assert fargate.memory_words(16384) == "32768-122880 in steps of 8192"
    assert fargate.size_problem("512", "4096") is None
    assert fargate.size_problem("512", "5120").startswith("Memory 5120 is not a Fargate size")
    assert list(sizes) == [256, 512, 1024, 2048, 4096, 8192, 16384]


# ---------------------------------------------------------------- Ctrl-C


def ctrl_c(*args, **kwargs):
    raise KeyboardInterrupt


def available_change_sets(aws, stack):
    listed = aws("cloudformation").list_change_sets(StackName=stack)["Summaries"]
    return [c for c in listed if c["ExecutionStatus"] != "EXECUTE_COMPLETE"]


def interrupted_rollout(aws, deploy, monkeypatch, overrides, tag):
    """`up --tag TAG` stopped with Ctrl-C while it follows ECS's deployment, which goes on."""
    push_image(aws, tag)
    with monkeypatch.context() as patch:
        patch.setattr(deployments, "time", types.SimpleNamespace(sleep=ctrl_c))
        status, _, err = deploy("up", "--yes", "--tag", tag, *overrides)
    assert status == 130
    assert err.splitlines() == [f"error: {rollout.CARRIES_ON}"]


def test_ctrl_c_while_a_rollout_is_followed_says_what_carries_on_and_up_follows_it(
    aws, deploy, deployed, monkeypatch
):
    overrides, _ = deployed
    interrupted_rollout(aws, deploy, monkeypatch, overrides, V2)

    status, out, err = deploy("up", "--yes", "--tag", V2, *overrides)

    assert status == 0, out + err
    following = (
        f"{SITE.service_stack}: ECS is still rolling out a deployment an earlier deploy started; "
        "following it to its end first"
    )
    assert out.index(following) < out.index("Deployment SUCCESSFUL")
    assert out.index("Deployment SUCCESSFUL") < out.index(f"{SITE.service_stack}: no changes")


def test_the_revision_an_interrupted_deploy_rolled_out_is_one_rollback_goes_back_to(
    aws, deploy, deployed, monkeypatch
):
    overrides, _ = deployed
    interrupted_rollout(aws, deploy, monkeypatch, overrides, V2)
    push_image(aws, V3)
    assert deploy("up", "--yes", "--tag", V3, *overrides)[0] == 0

    status, out, err = deploy("rollback", "--yes")

    assert status == 0, out + err
    assert f"Rolling back from {V3} to {V2}, the image that ran before it" in out


def test_ctrl_c_at_the_question_deletes_the_change_set_shown(
    aws, deploy, terminal, first_image, monkeypatch
):
    first_image()
    monkeypatch.setattr(ui.console, "input", ctrl_c)

    status, out, err = deploy("up", *site_overrides(aws))

    assert status == 130, out + err
    assert f"{SITE.resources_stack} would be created:" in out
    assert err.splitlines() == [
        f"error: Interrupted: {SITE.resources_stack} stays as it was, its change set deleted unrun."
    ]
    assert stack_names(aws) == set()  # nor the empty stack of the CREATE change set


def test_ctrl_c_while_a_change_set_is_computed_deletes_it(aws, deploy, deployed, monkeypatch):
    overrides, _ = deployed
    push_image(aws, V2)
    monkeypatch.setattr(stacks, "describe_change_set", ctrl_c)

    status, out, err = deploy("up", "--yes", "--tag", V2, *overrides)

    assert status == 130, out + err
    assert "Interrupted: deleting change set deploy-" in out
    assert available_change_sets(aws, SITE.resources_stack) == []
    assert parameter(aws, SITE.service_stack, "ImageTag") == V1


# ---------------------------------------------------------------- the stack's own failure


def test_a_reason_on_the_stacks_own_event_is_the_failure_up_and_status_give(aws):
    cloudformation, exporter = export_and_import(aws)
    stack = change_set_run(cloudformation, "exporter", exporter, Value="two")
    events = watch.last_operation(watch.all_events(cloudformation, "exporter"))

    reason = "Export shared-value cannot be updated as it is in use by importer"
    assert watch.first_failure(events) == f"exporter: {reason}"
    assert stacks.failure_message(stack, events) == (
        f"exporter ended UPDATE_ROLLBACK_COMPLETE. First failure: exporter: {reason}. The stack "
        "is back as it was before, and the site keeps running."
    )


def test_status_gives_the_reason_on_the_stacks_own_event(aws, deploy, deployed):
    backend = cloudformation_backends[ACCOUNT][SITE.region]
    stack = next(s for s in backend.stacks.values() if s.name == SITE.service_stack)
    reason = f"Export {SITE.service_stack}-x cannot be deleted as it is in use by other-site"
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"

    status, out, err = deploy("status")

    assert status == 0, err
    assert f"last failure: {SITE.service_stack}: {reason}" in out
    assert "no reason given" not in out


# ---------------------------------------------------------------- what names what


def test_a_profile_named_by_aws_profile_is_named_so(deploy, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    status, _, err = deploy("status")
    assert (status, err.splitlines()) == (
        2,
        ["error: AWS_PROFILE nosuch: no such profile in ~/.aws/config or ~/.aws/credentials"],
    )


def test_rollback_without_a_terminal_names_rollback(aws, deploy):
    status, _, err = deploy("rollback")
    assert (status, err.splitlines()) == (
        2,
        [
            "error: rollback shows each change set and applies it once you say yes: pass --yes "
            "to apply them without a terminal (CI, scripts)"
        ],
    )


def test_before_is_not_run_when_the_image_does_not_change(aws, deploy, deployed):
    overrides, _ = deployed

    status, out, err = deploy("up", "--yes", "--tag", V1, "--before", "echo migrated", *overrides)

    assert status == 0, out + err
    assert (
        f"--before: not run, {SITE.service_stack} runs image {V1} already: no new image rolls out"
    ) in out
    assert one_off_tasks(aws) == []


def test_plan_before_any_service_names_the_image_it_would_build(aws, deploy, monkeypatch):
    resources_only(deploy, monkeypatch, *site_overrides(aws))

    status, out, err = deploy("plan", *site_overrides(aws))

    assert status == 0, out + err
    assert "deployed image" not in out
    assert "the working tree's, which `up` would build (no service yet)" in out
    assert f"{SITE.service_stack} would be created:" in out
