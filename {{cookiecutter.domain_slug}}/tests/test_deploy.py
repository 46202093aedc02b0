"""`python -m deploy` against a real moto server standing in for AWS (see moto_server.py)."""

import json
import re
import types
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
import requests
from cfnlint.decode import cfn_yaml
from moto.cloudformation.models import Event, cloudformation_backends
from deploy.moto_rules import moto_server

from deploy import cli, commands, site, stacks, watch
from deploy.errors import Abort

# moto cannot run some resource types of the stacks and says so for each: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")

ACCOUNT = "123456789012"  # moto's account


def template_defaults(name):
    """The parameter defaults of a stack template: the answers this project was baked with."""
    template = cfn_yaml.load(str(Path(__file__).parent.parent / "cloudformation" / name))
    return {key: str(spec.get("Default", "")) for key, spec in template["Parameters"].items()}


RESOURCES_DEFAULTS = template_defaults("resources.yaml")
SERVICE_DEFAULTS = template_defaults("service.yaml")


@pytest.fixture(scope="module")
def endpoint():
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def fresh_account(endpoint, monkeypatch, tmp_path):
    """An empty moto account, dummy credentials, and nothing read from the user's ~/.aws."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def aws(endpoint):
    """boto3 clients on the moto server, for arranging and checking what the tool did."""
    return lambda service: boto3.client(service, region_name=site.REGION, endpoint_url=endpoint)


@pytest.fixture
def deploy(endpoint, capsys):
    """Run `python -m deploy ARGS` in this process; returns (exit status, stdout, stderr)."""

    def run(*args):
        status = cli.main([*args, "--endpoint-url", endpoint])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def site_overrides(aws):
    """--set options this bake needs on moto, the way a user passes them.

    moto cannot run the stack's own DNS-validated certificate, so a bake with HTTPS and no
    certificate ARN deploys with a certificate requested from moto's ACM, as a user with an
    existing certificate would. A bake naming an existing hosted zone gets one made in moto.
    """
    overrides = ["--set", "EnableIpv6=false"]  # moto's VPCs have no IPv6 (see moto_server.py)
    if RESOURCES_DEFAULTS["EnableHttps"] == "true" and not RESOURCES_DEFAULTS["CertificateArn"]:
        arn = aws("acm").request_certificate(DomainName=site.DOMAIN, ValidationMethod="DNS")
        overrides += ["--set", f"CertificateArn={arn['CertificateArn']}"]
    if RESOURCES_DEFAULTS["HostedZoneId"]:
        zone = aws("route53").create_hosted_zone(Name=site.DOMAIN, CallerReference="tests")
        overrides += ["--set", f"HostedZoneId={zone['HostedZone']['Id'].split('/')[-1]}"]
    return overrides


def push_image(aws, tag):
    """Put an image manifest into the site's repository, as `docker push` would."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": "sha256:" + "0" * 64,
            "size": 1,
        },
        "layers": [],
    }
    aws("ecr").put_image(repositoryName=site.SLUG, imageManifest=json.dumps(manifest), imageTag=tag)


def stack_names(aws):
    return {stack["StackName"] for stack in aws("cloudformation").describe_stacks()["Stacks"]}


def parameter(aws, stack, key):
    described = aws("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}.get(key)


@pytest.fixture
def deployed(aws, deploy):
    """Both stacks created by `up --tag v1`; returns the --set options the bake needs."""
    overrides = site_overrides(aws)
    status, out, err = deploy("up", "--tag", "v1", *overrides)
    # A new site has no repository before its first `up`, so --tag stops after the resources.
    assert status == 2, out + err
    assert "--tag v1: no such image in the ECR repository" in err
    push_image(aws, "v1")
    status, out, err = deploy("up", "--tag", "v1", *overrides)
    assert status == 0, out + err
    return overrides, out


def test_up_creates_both_stacks_prints_the_url_and_a_second_up_changes_nothing(
    aws, deploy, deployed
):
    overrides, out = deployed
    assert stack_names(aws) == {site.RESOURCES_STACK, site.SERVICE_STACK}
    assert f"{site.RESOURCES_STACK}: no changes" in out  # created by the first, stopped run
    assert f"{site.SERVICE_STACK}: CREATE_COMPLETE" in out
    scheme = "https" if RESOURCES_DEFAULTS["EnableHttps"] == "true" else "http"
    assert f"{site.DOMAIN} runs image v1: {scheme}://{site.DOMAIN}" in out
    assert parameter(aws, site.SERVICE_STACK, "ImageTag") == "v1"
    if not RESOURCES_DEFAULTS["HostedZoneId"]:
        assert f"Name servers to set at the registrar of {site.DOMAIN}: ns-" in out

    status, out, _ = deploy("up", "--tag", "v1", *overrides)
    assert status == 0
    assert f"{site.RESOURCES_STACK}: no changes, the stack already matches" in out
    assert f"{site.SERVICE_STACK}: no changes, the stack already matches" in out


def test_a_new_tag_updates_the_service_and_a_value_set_once_is_kept(aws, deploy, deployed):
    overrides, _ = deployed
    push_image(aws, "v2")
    default = SERVICE_DEFAULTS["DesiredCount"]
    scaled = str(int(default) + 1)
    status, out, _ = deploy("up", "--tag", "v2", "--set", f"DesiredCount={scaled}", *overrides)
    assert status == 0
    assert f"{site.SERVICE_STACK}: UPDATE_COMPLETE" in out
    assert parameter(aws, site.SERVICE_STACK, "ImageTag") == "v2"

    status, out, _ = deploy("up", "--tag", "v2", *overrides)
    assert status == 0
    assert f"keeping DesiredCount={scaled} from the stack (template default: {default!r}" in out
    assert parameter(aws, site.SERVICE_STACK, "DesiredCount") == scaled


def test_service_only_leaves_the_resources_stack_alone(aws, deploy, deployed):
    """What CI's deploy role runs: no change set on the resources stack, the new image rolls out."""
    push_image(aws, "v2")

    def change_sets():  # moto lists every stack's change sets, whatever StackName says
        listed = aws("cloudformation").list_change_sets(StackName=site.RESOURCES_STACK)
        return [c for c in listed["Summaries"] if c["StackName"] == site.RESOURCES_STACK]

    before = change_sets()
    status, out, _ = deploy("up", "--service-only", "--tag", "v2")  # as the workflow runs it
    assert status == 0
    assert site.RESOURCES_STACK + ":" not in out
    assert parameter(aws, site.SERVICE_STACK, "ImageTag") == "v2"
    assert change_sets() == before


def test_service_only_refuses_a_resources_parameter(deploy):
    status, _, err = deploy("up", "--service-only", "--set", "NatGateways=1")
    assert status == 2
    assert err.splitlines() == [
        f"error: --set NatGateways: a parameter of {site.RESOURCES_STACK}, which --service-only "
        "leaves alone; deploy it with `make deploy`"
    ]


def test_service_only_needs_the_resources_stack(deploy):
    status, _, err = deploy("up", "--service-only", "--tag", "v1")
    assert status == 2
    assert site.RESOURCES_STACK in err


def test_plan_on_a_new_site_creates_nothing(aws, deploy):
    status, out, _ = deploy("plan", "--tag", "v1", *site_overrides(aws))
    assert status == 0
    assert f"{site.RESOURCES_STACK} would be created:" in out
    assert "Repository" in out
    assert f"{site.SERVICE_STACK}: planned once {site.RESOURCES_STACK} exists" in out
    assert stack_names(aws) == set()


def test_plan_shows_a_change_and_applies_nothing(aws, deploy, deployed):
    overrides, _ = deployed
    scaled = str(int(SERVICE_DEFAULTS["DesiredCount"]) + 1)
    status, out, _ = deploy("plan", "--tag", "v1", "--set", f"DesiredCount={scaled}", *overrides)
    assert status == 0
    assert f"{site.SERVICE_STACK} would change:" in out
    assert f"parameter DesiredCount: {SERVICE_DEFAULTS['DesiredCount']} -> {scaled}" in out
    assert parameter(aws, site.SERVICE_STACK, "DesiredCount") == SERVICE_DEFAULTS["DesiredCount"]
    listed = aws("cloudformation").list_change_sets(StackName=site.SERVICE_STACK)["Summaries"]
    assert [c for c in listed if c["ExecutionStatus"] == "AVAILABLE"] == []


def test_update_aws_rejects_exits_non_zero_with_the_reason(aws, deploy, deployed):
    overrides, _ = deployed
    status, out, err = deploy("up", "--tag", "v1", "--set", "Cpu=300", *overrides)
    assert status == 1
    assert err.strip().splitlines() == [
        f"error: {site.SERVICE_STACK}: AWS rejected the change: "
        "Parameter 'Cpu' must be one of AllowedValues"
    ]
    assert parameter(aws, site.SERVICE_STACK, "Cpu") != "300"


def test_status_ns_and_logs_read_the_deployed_site(aws, deploy, deployed):
    status, out, _ = deploy("status")
    assert status == 0
    assert f"{site.RESOURCES_STACK}  CREATE_COMPLETE" in out
    assert f"{site.SERVICE_STACK}    CREATE_COMPLETE" in out
    assert " running / " in out and " desired / " in out and " pending" in out
    assert "image                  v1" in out

    status, out, _ = deploy("ns")
    assert status == 0
    assert "awsdns" in out

    group = f"/ecs/{site.SLUG}"
    logs = aws("logs")
    logs.create_log_stream(logGroupName=group, logStreamName="web/web/0123456789abcdef")
    now = int(datetime.now(UTC).timestamp() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="web/web/0123456789abcdef",
        logEvents=[{"timestamp": now, "message": "GET /health 200"}],
    )
    status, out, _ = deploy("logs", "--since", "5m")
    assert status == 0
    assert "01234567 GET /health 200" in out


def test_destroy_deletes_the_service_then_the_resources(aws, deploy, deployed):
    status, out, err = deploy("destroy", "--yes")
    assert status == 0, out + err
    service = out.index(f"{site.SERVICE_STACK}: DELETE_COMPLETE")
    emptied = out.index(f"{site.SLUG}: 1 images deleted")
    resources = out.index(f"{site.RESOURCES_STACK}: DELETE_COMPLETE")
    assert service < emptied < resources
    assert "Kept on purpose: AccessLogBucket (AWS::S3::Bucket)" in out
    assert stack_names(aws) == set()


def test_destroy_without_a_terminal_needs_yes(aws, deploy):
    assert deploy("up", "--tag", "v1", *site_overrides(aws))[0] == 2  # the resources only
    status, _, err = deploy("destroy")
    assert status == 2
    assert (
        err.strip() == "error: destroy deletes the site: pass --yes to confirm without a terminal"
    )
    assert stack_names(aws) == {site.RESOURCES_STACK}


def test_a_failed_creation_is_explained_and_recreated(aws, deploy):
    overrides = site_overrides(aws)
    assert deploy("up", "--tag", "v1", *overrides)[0] == 2  # resources created, no image
    backend = cloudformation_backends[ACCOUNT][site.REGION]
    stack = next(s for s in backend.stacks.values() if s.name == site.RESOURCES_STACK)
    # What AWS leaves after a failed creation: the failed resource's event, then the rollback.
    failed = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id="LoadBalancer",
        physical_resource_id="",
        resource_type="AWS::ElasticLoadBalancingV2::LoadBalancer",
        resource_status="CREATE_FAILED",
        resource_status_reason="You have reached the limit of load balancers",
        resource_properties=None,
    )
    stack.events.append(failed)
    stack.status = "ROLLBACK_COMPLETE"

    status, _, err = deploy("up", "--tag", "v1", *overrides)
    assert status == 1
    assert f"{site.RESOURCES_STACK} is ROLLBACK_COMPLETE" in err
    assert "First failure: LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer): " in err
    assert "`python -m deploy up --recreate`" in err

    for command in ("logs", "image", "up --service-only --tag v1"):
        status, _, err = deploy(*command.split())
        assert status == 2, command
        assert err.splitlines() == [
            f"error: {site.RESOURCES_STACK} is ROLLBACK_COMPLETE, so its outputs are not ready: "
            "`make deploy ARGS=--recreate` creates it again"
        ]

    status, out, _ = deploy("up", "--tag", "v1", "--recreate", *overrides)
    assert status == 2  # recreated; the new repository has no image v1 yet
    assert f"{site.RESOURCES_STACK}: DELETE_COMPLETE" in out
    assert f"{site.RESOURCES_STACK}: CREATE_COMPLETE" in out


@pytest.mark.parametrize("command", ["status", "logs", "ns", "destroy --yes", "image"])
def test_a_missing_stack_is_one_line_and_exit_2(deploy, command):
    status, out, err = deploy(*command.split())
    assert status == 2
    assert err.splitlines() == [
        f"error: Stack {site.RESOURCES_STACK} does not exist in {site.REGION}: "
        "create it with `make deploy`"
    ]


def test_an_unknown_region_is_one_line_and_exit_2(deploy):
    status, _, err = deploy("status", "--region", "mars-1")
    assert (status, err.splitlines()) == (
        2,
        [f"error: --region mars-1: not an AWS region (for example {site.REGION})"],
    )


def test_missing_credentials_are_one_line_and_exit_2(deploy, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    status, _, err = deploy("status")
    assert status == 2
    assert len(err.splitlines()) == 1 and "No AWS credentials found" in err


def test_an_unknown_profile_is_one_line_and_exit_2(deploy):
    status, _, err = deploy("--profile", "nobody", "status")
    assert (status, err.splitlines()) == (
        2,
        ["error: --profile nobody: no such profile in ~/.aws/config or ~/.aws/credentials"],
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["up", "--set", "Replicas=3"],
            "error: --set Replicas: no such parameter; the stacks take",
        ),
        (["up", "--set", "DesiredCount"], "error: --set DesiredCount: write it as KEY=VALUE"),
        (["logs", "--since", "5x"], "error: --since 5x: use a number and s, m, h or d"),
    ],
)
def test_a_bad_option_value_is_one_line_and_exit_2(deploy, args, message):
    status, _, err = deploy(*args)
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith(message)


def test_options_go_before_or_after_the_command():
    before = cli.parser().parse_args(["--region", "us-east-1", "--yes", "destroy"])
    after = cli.parser().parse_args(["destroy", "--region", "us-east-1", "--yes"])
    assert (before.region, before.yes) == (after.region, after.yes) == ("us-east-1", True)


def test_waiting_on_the_certificate_prints_the_new_zones_name_servers(aws, capsys):
    template = {
        "Resources": {
            "HostedZone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": site.DOMAIN}}
        }
    }
    stack_id = aws("cloudformation").create_stack(
        StackName="zone-only", TemplateBody=json.dumps(template)
    )["StackId"]
    session = types.SimpleNamespace(
        cloudformation=aws("cloudformation"), client=lambda service: aws(service)
    )
    waiting = types.SimpleNamespace(
        stack_id=stack_id,
        in_progress={"Certificate": ("AWS::CertificateManager::Certificate", datetime.now(UTC))},
    )
    notice = commands.certificate_notice(session)
    notice(waiting)
    notice(waiting)  # said once, not at every poll
    out = capsys.readouterr().out
    assert out.count(f"Name servers of the hosted zone of {site.DOMAIN}:") == 1
    assert "awsdns" in out
    assert "set these name servers at your domain's registrar now" in out


def test_ctrl_c_while_waiting_says_what_keeps_running(aws, monkeypatch):
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    stack_id = aws("cloudformation").create_stack(
        StackName="watched", TemplateBody=json.dumps(template)
    )["StackId"]
    watcher = watch.StackWatcher(aws("cloudformation"), stack_id)

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(watcher, "poll", interrupted)
    with pytest.raises(Abort) as stopped:
        watcher.wait("The update of watched")
    assert stopped.value.status == 130
    assert stopped.value.message.startswith(
        "Stopped watching. The update of watched keeps running in AWS; `make status`"
    )


def test_a_default_edited_since_the_last_deploy_applies(
    aws, deploy, deployed, monkeypatch, tmp_path
):
    overrides, _ = deployed
    edited = str(int(SERVICE_DEFAULTS["DesiredCount"]) + 1)
    template = re.sub(
        r"(\n  DesiredCount:\n(?:    .*\n)*?    Default: )\S+",
        rf"\g<1>{edited}",
        stacks.SERVICE.template.read_text(),
    )
    (tmp_path / "service.yaml").write_text(template)
    monkeypatch.setattr(
        stacks, "SERVICE", stacks.StackSpec(site.SERVICE_STACK, tmp_path / "service.yaml")
    )

    status, out, _ = deploy("up", "--tag", "v1", *overrides)
    assert status == 0
    assert "keeping DesiredCount" not in out
    assert parameter(aws, site.SERVICE_STACK, "DesiredCount") == edited
