"""Day two on the stand-in (flask_fargate/standin/), as a new user's walk met it: autoscaling
turned off, then `destroy`; `status` after a second deploy; the rehearsal's image on ARM64."""

import pytest
from site_under_test import SITE
from test_day_two import interrupted_rollout

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    ARCHITECTURE,
    OTHER_ARCHITECTURE,
    SERVICE_DEFAULTS,
    V1,
    V2,
    aws,
    deploy,
    deployed,
    endpoint,
    fresh_account,
    parameter,
    push_image,
    row,
    service_name,
    site_overrides,
    stack_names,
    tag_for,
)

from flask_fargate import image
from flask_fargate.standin import rehearse

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")

AUTOSCALES = SERVICE_DEFAULTS["MaxCount"] != SERVICE_DEFAULTS["DesiredCount"]


def described_service(aws):
    (service,) = aws("ecs").describe_services(cluster=SITE.slug, services=[service_name(aws)])[
        "services"
    ]
    return service


def listed_resources(aws, stack):
    summaries = aws("cloudformation").list_stack_resources(StackName=stack)
    return {resource["LogicalResourceId"] for resource in summaries["StackResourceSummaries"]}


@pytest.mark.skipif(not AUTOSCALES, reason="this bake's service does not autoscale")
@pytest.mark.parametrize(
    "setting",
    [
        f"DesiredCount={SERVICE_DEFAULTS['MaxCount']}",
        f"MaxCount={SERVICE_DEFAULTS['DesiredCount']}",
    ],
)
def test_autoscaling_turned_off_removes_the_scalable_target_and_destroy_deletes_the_site(
    aws, deploy, deployed, setting
):
    overrides, _ = deployed
    assert "ScalableTarget" in listed_resources(aws, SITE.service_stack)

    status, out, err = deploy("up", "--yes", "--tag", V1, *overrides, "--set", setting)

    assert status == 0, out + err
    assert "ScalableTarget" not in listed_resources(aws, SITE.service_stack)
    status, out, err = deploy("destroy", "--yes")
    assert status == 0, out + err
    assert stack_names(aws) == set()


def test_destroy_deletes_a_scalable_target_already_deregistered(aws, deploy, deployed):
    (target,) = aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")[
        "ScalableTargets"
    ]
    aws("application-autoscaling").deregister_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=target["ResourceId"],
        ScalableDimension=target["ScalableDimension"],
    )

    status, out, err = deploy("destroy", "--yes")

    assert status == 0, out + err
    assert stack_names(aws) == set()


def test_status_names_the_revision_the_service_runs_after_a_second_deploy(aws, deploy, deployed):
    overrides, _ = deployed
    push_image(aws, V2)
    assert deploy("up", "--yes", "--tag", V2, *overrides)[0] == 0

    status, out, err = deploy("status")

    assert status == 0, out + err
    revision = described_service(aws)["taskDefinition"].rsplit(":", 1)[-1]
    assert revision == "2"
    assert row(out, "rollout (primary)").startswith(f"revision {revision}: COMPLETED")
    assert "rollout (active)" not in out  # the first revision's tasks are drained


def test_a_new_revision_is_the_primary_deployment_and_the_one_before_active_until_it_ends(
    aws, deploy, deployed, monkeypatch
):
    """ECS's deployments while a service deployment runs: the new PRIMARY one IN_PROGRESS, the
    old one ACTIVE; once it ended, only the PRIMARY one, COMPLETED."""
    overrides, _ = deployed
    before = described_service(aws)["taskDefinition"]
    interrupted_rollout(aws, deploy, monkeypatch, overrides, V2)
    service = described_service(aws)
    assert [
        (d["status"], d["rolloutState"], d["taskDefinition"]) for d in service["deployments"]
    ] == [
        ("PRIMARY", "IN_PROGRESS", service["taskDefinition"]),
        ("ACTIVE", "COMPLETED", before),
    ]

    assert deploy("up", "--yes", "--tag", V2, *overrides)[0] == 0

    service = described_service(aws)
    assert [
        (d["status"], d["rolloutState"], d["taskDefinition"]) for d in service["deployments"]
    ] == [("PRIMARY", "COMPLETED", service["taskDefinition"])]


@pytest.mark.answers
def test_the_rehearsals_image_is_named_for_the_tasks_cpu_and_a_day_two_up_deploys_it(
    aws, deploy, monkeypatch
):
    monkeypatch.setattr(image, "Delivery", rehearse.StandInImage)
    assert deploy("up", "--yes", *site_overrides(aws))[0] == 0
    tag = tag_for("rehearsal")
    assert parameter(aws, SITE.service_stack, "ImageTag") == tag

    status, out, err = deploy("plan", "--set", "DesiredCount=3")
    assert status == 0, out + err
    assert f"planned with the deployed image {tag}" in out
    status, out, err = deploy("up", "--yes", "--tag", tag, "--set", "DesiredCount=3")
    assert status == 0, out + err


class OtherCpuImage(rehearse.StandInImage):
    """A first `up` that ran an image built for the other CPU (as a rehearsal on ARM64 did
    before its image was named for the CPU)."""

    @classmethod
    def check(cls, aws, resources, architecture, tag=None):
        return super().check(aws, resources, architecture, tag or tag_for("v0", OTHER_ARCHITECTURE))


@pytest.mark.answers  # on each CPU: an ARM64 site's rehearsal once ran an X86_64 tag
def test_rollback_refuses_an_image_built_for_another_cpu_before_any_change(
    aws, deploy, monkeypatch
):
    overrides = site_overrides(aws)
    with monkeypatch.context() as patch:
        patch.setattr(image, "Delivery", OtherCpuImage)
        assert deploy("up", "--yes", *overrides)[0] == 0
    push_image(aws, V1)
    assert deploy("up", "--yes", "--tag", V1, *overrides)[0] == 0

    status, out, err = deploy("rollback", "--yes")

    old = tag_for("v0", OTHER_ARCHITECTURE)
    assert (status, err.splitlines()) == (
        2,
        [
            f"error: The image before {V1}, {old}, is one for {OTHER_ARCHITECTURE} and ran on "
            f"{ARCHITECTURE}, where its tasks exit with `exec format error`: deploy another "
            "with `up --tag TAG`"
        ],
    )
    assert parameter(aws, SITE.service_stack, "ImageTag") == V1
