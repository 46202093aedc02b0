"""`flask-fargate` against a real moto server standing in for AWS (flask_fargate/standin/)."""

import base64
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import sys
import types
from datetime import UTC, datetime

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from cfnlint.decode import cfn_yaml
from moto.cloudformation.models import Event, cloudformation_backends
from moto.route53.models import route53_backends
from site_under_test import FOLDER, SITE

from flask_fargate import (
    account,
    cli,
    commands,
    constraints,
    deployments,
    dns,
    external_dns,
    github,
    host,
    image,
    stacks,
    tasks,
    ui,
    watch,
)
from flask_fargate.aws import Aws
from flask_fargate.errors import Abort
from flask_fargate.standin import rehearse
from flask_fargate.standin import rules as moto_rules
from flask_fargate.standin.server import moto_server

# moto cannot run some resource types of the stacks and says so for each: expected here.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Tried to parse AWS::"),
    # STS's model names no AccessDenied error, which AWS answers all the same.
    pytest.mark.filterwarnings("ignore:Exception.STSClientError. with code AccessDenied"),
]

ACCOUNT = "123456789012"  # moto's account
MAX_CERTIFICATE_NAME = 64  # ACM's limit on a certificate's own name (its DomainName)
CERTIFICATE = "AWS::CertificateManager::Certificate"
# Printing the records to create at the DNS provider, without the tests' stand-in user who
# creates them (installed for each test).
SHOW_ONLY = external_dns.show


def template_defaults(name):
    """The parameter defaults of a stack template: the answers this project was baked with."""
    template = cfn_yaml.load(str(FOLDER / "cloudformation" / name))
    return {key: str(spec.get("Default", "")) for key, spec in template["Parameters"].items()}


RESOURCES_DEFAULTS = template_defaults("resources.yaml")
SERVICE_DEFAULTS = template_defaults("service.yaml")
# The CPU this bake's tasks run on, and the other one.
ARCHITECTURE = SERVICE_DEFAULTS["CpuArchitecture"]
OTHER_ARCHITECTURE = next(name for name in image.PLATFORMS if name != ARCHITECTURE)


def tag_for(name, architecture=ARCHITECTURE):
    """An image tag for that CPU, as deploy/image.py names it: `up --tag` refuses another's."""
    return name + image.SUFFIXES[architecture]


V1, V2, V3 = (tag_for(name) for name in ("v1", "v2", "v3"))
# The bake keeps its DNS at another provider: the stacks make no zone and no records.
EXTERNAL_DNS = RESOURCES_DEFAULTS["DnsProvider"] == "external"
IPV6 = RESOURCES_DEFAULTS["EnableIpv6"] == "true"
OWN_ZONE = not EXTERNAL_DNS and not RESOURCES_DEFAULTS["HostedZoneId"]
# The bake joins another site's load balancer: each test finds a stand-in of that host.
HOST = RESOURCES_DEFAULTS.get("HostSite", "")
owns_network = pytest.mark.skipif(
    bool(HOST), reason=f"this site joins {HOST}: the network and load balancer are the host's"
)


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
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)  # as on a user's machine
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(account, "ROLE_PROPAGATION_SECONDS", 0)  # moto's IAM is consistent at once
    monkeypatch.setattr(tasks, "POLL_SECONDS", 0.05)  # a one-off task here takes milliseconds
    # The stand-in's deployment moves a stage each time it is asked (deploy/moto_deployments.py).
    monkeypatch.setattr(deployments, "POLL_SECONDS", 0)
    # A user who creates at once each record the tool says to create at their DNS provider, and
    # public DNS as the moto server's stand-in for it, never the internet's.
    moto_rules.PUBLIC_DNS.records.clear()
    rehearse.stand_in_provider(moto_rules.PUBLIC_DNS, monkeypatch.setattr)
    rehearse.stand_in_github(monkeypatch.setattr)  # a user with gh, logged in
    monkeypatch.setattr(watch, "POLL_SECONDS", 0.01)  # a creation waiting for that record
    if HOST:
        rehearse.stand_in_host(Aws(endpoint_url=endpoint), HOST)


@pytest.fixture
def aws(endpoint):
    """boto3 clients on the moto server, for arranging and checking what the tool did."""
    return lambda service: boto3.client(service, region_name=SITE.region, endpoint_url=endpoint)


@pytest.fixture
def deploy(endpoint, capsys, monkeypatch):
    """Run `flask-fargate ARGS` in this process; returns (exit status, stdout, stderr)."""
    # Whatever COLUMNS the test runner has, a table row is one line, even with the longest
    # domain (249 characters) and a load balancer's name in one cell.
    monkeypatch.setattr(ui.console, "width", 512)

    def run(*args):
        status = cli.main(["--endpoint-url", endpoint, *args])  # first: `run --` takes the rest
        out, err = capsys.readouterr()
        return status, out, err

    return run


def site_overrides(aws):
    """--set options this bake needs on moto, the way a user passes them: a bake naming an
    existing certificate or hosted zone gets a stand-in of each, as `make rehearse` does."""
    return rehearse.stand_in_overrides(session(aws), RESOURCES_DEFAULTS)


def session(aws):
    """The tests' clients, as the deploy tool's Aws session offers them."""
    return types.SimpleNamespace(client=aws, cloudformation=aws("cloudformation"))


def new_zone(aws, name=SITE.domain):
    zone = aws("route53").create_hosted_zone(Name=name, CallerReference=f"tests-{name}")
    return zone["HostedZone"]["Id"].split("/")[-1]


def add_record(aws, zone, name, record_type, value):
    record = {"Name": name, "Type": record_type, "TTL": 300, "ResourceRecords": [{"Value": value}]}
    aws("route53").change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
    )


def row(out, label):
    """The value of a row of `status`'s table, whatever its padding."""
    for line in out.splitlines():
        if line.startswith(f"{label} "):
            return " ".join(line[len(label) :].split())
    raise AssertionError(f"no row {label!r} in:\n{out}")


def push_image(aws, tag):
    """Put an image into the site's repository, as `docker push` would."""
    rehearse.record_image(aws("ecr"), SITE.slug, tag)


def stack_names(aws):
    """The stacks in the account but the stand-in host's, when the site joins one."""
    names = {stack["StackName"] for stack in aws("cloudformation").describe_stacks()["Stacks"]}
    return names - {f"{HOST}-resources"}


def use_template(monkeypatch, stack, path):
    """Deploy `stack` ("resources" or "service") from another template file; returns the site's
    own, to put back."""
    own = getattr(stacks, stack)
    spec = dataclasses.replace(own(), template=path)
    monkeypatch.setattr(stacks, stack, lambda: spec)
    return own


def use_edited_template(monkeypatch, tmp_path, stack, edit):
    """Deploy `stack` ("resources" or "service") from its template as `edit(text)` returns it."""
    path = tmp_path / f"{stack}.yaml"
    path.write_text(edit(getattr(stacks, stack)().template.read_text()))
    use_template(monkeypatch, stack, path)


def replacing(old, new):
    """An edit for use_edited_template: `old`, found once, becomes `new`."""

    def edit(text):
        assert text.count(old) == 1, old
        return text.replace(old, new)

    return edit


def with_default(name, value):
    """An edit for use_edited_template: parameter `name` defaults to `value`."""
    pattern = rf"(\n  {name}:\n(?:    .*\n)*?    Default: )\S+"
    return lambda text: re.sub(pattern, rf"\g<1>{value}", text)


def parameter(aws, stack, key):
    described = aws("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}.get(key)


class FirstImage(rehearse.StandInImage):
    """The image step of a first `up` (no --tag: the repository is new), without Docker: image
    V1 recorded as `docker push` would, as the rehearsal does."""

    @classmethod
    def check(cls, aws, resources, architecture, tag=None):
        return super().check(aws, resources, architecture, tag or V1)


class UnpushedImage(FirstImage):
    """A first `up` whose push fails: the resources stack is made, the service stack not."""

    def deliver(self, aws, resources):
        raise Abort("docker push failed: connection reset by peer")


@pytest.fixture
def first_image(monkeypatch):
    """`first_image(pushed=True)`: the image step of the next `up`s, as FirstImage or
    UnpushedImage does it."""
    return lambda pushed=True: monkeypatch.setattr(
        image, "Delivery", FirstImage if pushed else UnpushedImage
    )


def resources_only(deploy, monkeypatch, *args):
    """`up --yes ARGS` on a new site, whose image's push fails after the resources stack."""
    with monkeypatch.context() as patch:
        patch.setattr(image, "Delivery", UnpushedImage)
        status, out, err = deploy("up", "--yes", *args)
    assert status == 1, out + err
    assert err.splitlines() == ["error: docker push failed: connection reset by peer"]
    return out


@pytest.fixture
def deployed(aws, deploy, monkeypatch):
    """Both stacks created by a first `up`, image V1; returns the --set options the bake needs
    and what the `up` printed."""
    overrides = site_overrides(aws)
    with monkeypatch.context() as patch:
        patch.setattr(image, "Delivery", FirstImage)
        status, out, err = deploy("up", "--yes", *overrides)
    assert status == 0, out + err
    return overrides, out


def test_up_tag_before_the_resources_stack_exists_is_refused_before_any_change(aws, deploy):
    """No ECR repository before the resources stack, so no image of that tag: finding out after
    creating the stack would leave a load balancer and more behind."""
    status, _, err = deploy("up", "--yes", "--tag", V1, *site_overrides(aws))
    assert status == 2
    assert err.splitlines() == [
        f"error: --tag {V1}: {SITE.resources_stack} does not exist yet, and with it the ECR "
        "repository the image would have to be in: deploy without --tag the first time "
        "(`make deploy`), which builds and pushes the image"
    ]
    assert stack_names(aws) == set()


@pytest.mark.answers
def test_up_creates_both_stacks_prints_the_url_and_a_second_up_changes_nothing(
    aws, deploy, deployed
):
    overrides, out = deployed
    assert stack_names(aws) == {SITE.resources_stack, SITE.service_stack}
    assert f"{SITE.resources_stack}: CREATE_COMPLETE" in out
    assert f"{SITE.service_stack}: CREATE_COMPLETE" in out
    scheme = "https" if RESOURCES_DEFAULTS["EnableHttps"] == "true" else "http"
    assert f"{SITE.domain} runs image {V1}: {scheme}://{SITE.domain}" in out
    assert parameter(aws, SITE.service_stack, "ImageTag") == V1
    if OWN_ZONE:
        assert f"Name servers of {SITE.domain}'s zone: ns-" in out
        assert f"set them {dns.delegation(SITE.domain)}" in " ".join(out.split())
    if EXTERNAL_DNS:
        assert f"  www.{SITE.domain}.  CNAME  " in out

    status, out, _ = deploy("up", "--yes", "--tag", V1, *overrides)
    assert status == 0
    assert f"{SITE.resources_stack}: no changes, the stack already matches" in out
    assert f"{SITE.service_stack}: no changes, the stack already matches" in out


@pytest.mark.answers
def test_a_new_tag_updates_the_service_and_a_value_set_once_is_kept(aws, deploy, deployed):
    overrides, _ = deployed
    push_image(aws, V2)
    default = SERVICE_DEFAULTS["DesiredCount"]
    scaled = str(int(default) + 1)
    status, out, _ = deploy(
        "up", "--yes", "--tag", V2, "--set", f"DesiredCount={scaled}", *overrides
    )
    assert status == 0
    assert f"{SITE.service_stack}: UPDATE_COMPLETE" in out
    assert parameter(aws, SITE.service_stack, "ImageTag") == V2

    status, out, _ = deploy("up", "--yes", "--tag", V2, *overrides)
    assert status == 0
    assert f"keeping DesiredCount={scaled} from the stack (template default: {default!r}" in out
    assert parameter(aws, SITE.service_stack, "DesiredCount") == scaled


# The service's capacity provider strategy for each Capacity (base 0 where none is given).
STRATEGIES = {
    "on_demand": [("FARGATE", 0, 1)],
    "spot": [("FARGATE_SPOT", 0, 1)],
    "mixed": [("FARGATE", 1, 0), ("FARGATE_SPOT", 0, 1)],
}


def running_on(aws):
    """(the task definition's CPU architecture, the service's strategy as in STRATEGIES)."""
    ecs = aws("ecs")
    (service,) = ecs.describe_services(cluster=SITE.slug, services=[service_name(aws)])["services"]
    described = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    strategy = [
        (item["capacityProvider"], item.get("base", 0), item["weight"])
        for item in service["capacityProviderStrategy"]
    ]
    assert "launchType" not in service  # a service takes a strategy or a launch type
    return described["taskDefinition"]["runtimePlatform"]["cpuArchitecture"], strategy


def service_name(aws):
    described = aws("cloudformation").describe_stacks(StackName=SITE.service_stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}["ServiceName"]


@pytest.mark.answers
def test_the_tasks_run_on_the_cpu_and_capacity_answered(aws, deployed):
    (cluster,) = aws("ecs").describe_clusters(clusters=[SITE.slug])["clusters"]

    assert sorted(cluster["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert running_on(aws) == (
        SERVICE_DEFAULTS["CpuArchitecture"],
        STRATEGIES[SERVICE_DEFAULTS["Capacity"]],
    )


@pytest.mark.parametrize(
    ("architecture", "capacity"), [("ARM64", "spot"), ("ARM64", "mixed"), ("X86_64", "on_demand")]
)
def test_a_set_cpu_and_capacity_reach_the_task_definition_and_the_service(
    aws, deploy, deployed, architecture, capacity
):
    overrides, _ = deployed
    tag = tag_for("v2", architecture)
    push_image(aws, tag)
    settings = ["--set", f"CpuArchitecture={architecture}", "--set", f"Capacity={capacity}"]
    status, out, err = deploy("up", "--yes", "--tag", tag, *overrides, *settings)

    assert status == 0, out + err
    assert running_on(aws) == (architecture, STRATEGIES[capacity])


def only_fargate(aws):
    """As a cluster made before FARGATE_SPOT was associated with it."""
    aws("ecs").put_cluster_capacity_providers(
        cluster=SITE.slug, capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[]
    )


LACKS_SPOT = (
    f"Capacity spot: the service's strategy names FARGATE_SPOT, which cluster {SITE.slug} lacks: "
)
MAKE_DEPLOY_FIRST = "run `make deploy` first, which updates the resources stack's cluster"


@pytest.mark.answers
@pytest.mark.parametrize(
    ("command", "remedy"),
    [
        (lambda overrides: ["up", "--yes", "--tag", V1, "--service-only"], MAKE_DEPLOY_FIRST),
        (lambda overrides: ["secret", "set", "API_KEY", "--restart", "--yes"], MAKE_DEPLOY_FIRST),
        # Deployed before the resources stack (service_first), which cannot add them in time.
        pytest.param(
            lambda overrides: ["up", "--yes", "--tag", V1, *overrides, "--set", "NatGateways=0"],
            "this deploy changes the service first, so add them as the resources stack would, "
            f"then deploy again: aws ecs put-cluster-capacity-providers --cluster {SITE.slug} ",
            marks=owns_network,
        ),
    ],
    ids=["up-service-only", "secret-set-restart", "up-nat-gateways-to-0"],
)
def test_a_service_naming_a_provider_the_cluster_lacks_is_refused_before_any_change(
    aws, deploy, deployed, monkeypatch, command, remedy
):
    # Else the stand-in refuses the strategy as ECS does, and CloudFormation rolls back.
    overrides, _ = deployed
    # NatGateways 1 for the case that takes it to 0 (a joining site has none of its own).
    settings = ["--set", "Capacity=spot", *([] if HOST else ["--set", "NatGateways=1"])]
    assert deploy("up", "--yes", "--tag", V1, *overrides, *settings)[0] == 0
    only_fargate(aws)
    given_on_stdin(monkeypatch, "value\n")
    before = running_on(aws), stack_events(aws)
    status, out, err = deploy(*command(overrides))

    assert status == 1, out + err
    (line,) = err.splitlines()
    assert line.startswith(f"error: {LACKS_SPOT}{remedy}")
    assert (running_on(aws), stack_events(aws)) == before
    assert "API_KEY" not in stored_secrets(aws)


def stack_events(aws):
    cloudformation = aws("cloudformation")
    return {
        name: len(cloudformation.describe_stack_events(StackName=name)["StackEvents"])
        for name in (SITE.resources_stack, SITE.service_stack)
    }


class X86Engine:
    """A Linux Docker engine on x86_64 without QEMU, as `docker info` describes it."""

    def info(self):
        return {"Architecture": "x86_64", "OperatingSystem": "Ubuntu 24.04 LTS"}


def test_up_for_arm64_on_an_engine_that_cannot_build_it_stops_before_any_change(
    aws, deploy, monkeypatch, tmp_path
):
    monkeypatch.setattr(image, "source_tag", lambda project=None: "abc1234")
    monkeypatch.setattr(image, "docker_engine", lambda otherwise=None: X86Engine())
    monkeypatch.setattr(image, "BINFMT", tmp_path)  # no QEMU handler registered
    status, _, err = deploy("up", "--yes", *site_overrides(aws), "--set", "CpuArchitecture=ARM64")

    assert status == 2 and len(err.splitlines()) == 1
    assert "cannot build linux/arm64 images" in err and "qemu-user-static" in err
    assert stack_names(aws) == set()


@pytest.mark.answers
@pytest.mark.parametrize(
    ("tag", "settings", "built_for", "runs_on"),
    [
        (tag_for("v1", OTHER_ARCHITECTURE), [], OTHER_ARCHITECTURE, ARCHITECTURE),
        (V1, ["--set", f"CpuArchitecture={OTHER_ARCHITECTURE}"], ARCHITECTURE, OTHER_ARCHITECTURE),
    ],
    ids=["other-cpus-image", "other-cpu-set"],
)
def test_up_refuses_an_image_built_for_another_cpu_before_any_change(
    aws, deploy, deployed, tag, settings, built_for, runs_on
):
    """Its tasks would exit with `exec format error` until the circuit breaker rolled back. The
    image is in the repository (deployed pushed V1): what is refused is its CPU."""
    overrides, _ = deployed
    if tag != V1:
        push_image(aws, tag)
    status, _, err = deploy("up", "--yes", "--tag", tag, *overrides, *settings)

    assert status == 2
    assert err.splitlines() == [
        f"error: --tag {tag}: an image for {built_for}, and the tasks run on {runs_on}: pass the "
        f"tag of an image built for {runs_on} (its tag "
        + ("ends in -arm64" if runs_on == "ARM64" else "has no -arm64")
        + f"; `flask-fargate image` builds one) or --set CpuArchitecture={built_for}"
    ]
    assert parameter(aws, SITE.service_stack, "ImageTag") == V1
    assert parameter(aws, SITE.service_stack, "CpuArchitecture") == ARCHITECTURE


def test_service_only_leaves_the_resources_stack_alone(aws, deploy, deployed):
    """What CI's deploy role runs: no change set on the resources stack, the new image rolls out."""
    push_image(aws, V2)

    def change_sets():  # moto lists every stack's change sets, whatever StackName says
        listed = aws("cloudformation").list_change_sets(StackName=SITE.resources_stack)
        return [c for c in listed["Summaries"] if c["StackName"] == SITE.resources_stack]

    before = change_sets()
    status, out, _ = deploy("up", "--yes", "--service-only", "--tag", V2)  # as the workflow runs it
    assert status == 0
    assert SITE.resources_stack + ":" not in out
    assert parameter(aws, SITE.service_stack, "ImageTag") == V2
    assert change_sets() == before


def test_service_only_refuses_a_resources_parameter(deploy):
    status, _, err = deploy("up", "--yes", "--service-only", "--set", "NatGateways=1")
    assert status == 2
    assert err.splitlines() == [
        f"error: --set NatGateways: a parameter of {SITE.resources_stack}, which --service-only "
        "leaves alone; deploy it with `make deploy`"
    ]


def test_service_only_needs_the_resources_stack(deploy):
    status, _, err = deploy("up", "--yes", "--service-only", "--tag", V1)
    assert status == 2
    assert SITE.resources_stack in err


def test_plan_on_a_new_site_creates_nothing(aws, deploy):
    status, out, err = deploy("plan", *site_overrides(aws))
    assert status == 0, out + err
    assert f"{SITE.resources_stack} would be created:" in out
    assert "Repository" in out
    assert f"{SITE.service_stack}: planned once {SITE.resources_stack} exists" in out
    assert stack_names(aws) == set()


@pytest.mark.answers
def test_plan_shows_a_change_and_applies_nothing(aws, deploy, deployed):
    overrides, _ = deployed
    scaled = str(int(SERVICE_DEFAULTS["DesiredCount"]) + 1)
    status, out, _ = deploy("plan", "--tag", V1, "--set", f"DesiredCount={scaled}", *overrides)
    assert status == 0
    assert f"{SITE.service_stack} would change:" in out
    assert f"parameter DesiredCount: {SERVICE_DEFAULTS['DesiredCount']} -> {scaled}" in out
    assert parameter(aws, SITE.service_stack, "DesiredCount") == SERVICE_DEFAULTS["DesiredCount"]
    listed = aws("cloudformation").list_change_sets(StackName=SITE.service_stack)["Summaries"]
    assert [c for c in listed if c["ExecutionStatus"] == "AVAILABLE"] == []


def test_update_aws_rejects_exits_non_zero_with_the_reason(aws, deploy, deployed, monkeypatch):
    overrides, _ = deployed
    # A value the tool's own checks would stop first (test_day_two.py): AWS's refusal here.
    monkeypatch.setattr(constraints, "refuse_unfit", lambda spec, given: None)
    monkeypatch.setattr(constraints, "refuse_a_size_fargate_lacks", lambda values, given: None)
    status, out, err = deploy("up", "--yes", "--tag", V1, "--set", "Cpu=300", *overrides)
    assert status == 1
    assert err.strip().splitlines() == [
        f"error: {SITE.service_stack}: AWS rejected the change: "
        "Parameter 'Cpu' must be one of AllowedValues"
    ]
    assert parameter(aws, SITE.service_stack, "Cpu") != "300"


@pytest.mark.answers
def test_status_ns_and_logs_read_the_deployed_site(aws, deploy, deployed):
    status, out, _ = deploy("status")
    assert status == 0
    assert row(out, SITE.resources_stack) == "CREATE_COMPLETE"
    assert row(out, SITE.service_stack) == "CREATE_COMPLETE"
    assert re.fullmatch(r"\d+ running / \d+ desired / \d+ pending", row(out, "tasks"))
    assert row(out, "image") == V1

    status, out, _ = deploy("ns")
    assert status == 0
    assert "create the site's records" in out if EXTERNAL_DNS else "awsdns" in out

    group = f"/ecs/{SITE.slug}"
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


@pytest.mark.answers
def test_destroy_deletes_the_service_then_the_resources(aws, deploy, deployed):
    status, out, err = deploy("destroy", "--yes")
    assert status == 0, out + err
    service = out.index(f"{SITE.service_stack}: DELETE_COMPLETE")
    emptied = out.index(f"{SITE.slug}: 1 image deleted")
    resources = out.index(f"{SITE.resources_stack}: DELETE_COMPLETE")
    assert service < emptied < resources
    # The access-log bucket is an owner's (a joining site's requests are in its host's).
    assert ("Kept on purpose: AccessLogBucket (AWS::S3::Bucket)" in out) == (not HOST)
    # The app's secret values outlive the site, and destroy says how to delete them.
    kept = [s for s in aws("secretsmanager").list_secrets()["SecretList"] if SITE.slug in s["ARN"]]
    assert len(kept) == 1  # the site's own (a joining site's host has one too)
    assert "Kept on purpose: Secrets (AWS::SecretsManager::Secret) " in out
    assert re.search(r"delete-secret --secret-id \S+ --recovery-window-in-days 7", out)
    assert stack_names(aws) == set()


def test_destroy_without_a_terminal_needs_yes(aws, deploy, monkeypatch):
    resources_only(deploy, monkeypatch, *site_overrides(aws))
    status, _, err = deploy("destroy")
    assert status == 2
    assert (
        err.strip() == "error: destroy deletes the site: pass --yes to confirm without a terminal"
    )
    assert stack_names(aws) == {SITE.resources_stack}


@pytest.mark.answers
def test_a_failed_creation_is_explained_and_recreated(aws, deploy, monkeypatch, first_image):
    overrides = site_overrides(aws)
    resources_only(deploy, monkeypatch, *overrides)
    backend = cloudformation_backends[ACCOUNT][SITE.region]
    stack = next(s for s in backend.stacks.values() if s.name == SITE.resources_stack)
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

    status, _, err = deploy("up", "--yes", "--tag", V1, *overrides)
    assert status == 1
    assert f"{SITE.resources_stack} is ROLLBACK_COMPLETE" in err
    assert "First failure: LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer): " in err
    assert "`flask-fargate up --recreate`" in err

    for command in ("logs", "image", f"up --yes --service-only --tag {V1}"):
        status, _, err = deploy(*command.split())
        assert status == 2, command
        assert err.splitlines() == [
            f"error: {SITE.resources_stack} is ROLLBACK_COMPLETE, so its outputs are not ready: "
            "`make deploy ARGS=--recreate` creates it again"
        ]

    status, _, err = deploy("up", "--yes", "--tag", V1, "--recreate", *overrides)
    assert status == 2  # --tag: the stack made again has a new, empty repository
    assert err.startswith(
        f"error: --tag {V1}: {SITE.resources_stack} is ROLLBACK_COMPLETE, made again by --recreate"
    )
    first_image(pushed=False)
    status, out, _ = deploy("up", "--yes", "--recreate", *overrides)
    assert status == 1  # recreated; the image's push failed
    assert f"{SITE.resources_stack}: DELETE_COMPLETE" in out
    assert f"{SITE.resources_stack}: CREATE_COMPLETE" in out
    own_certificate = not RESOURCES_DEFAULTS["CertificateArn"]
    own_certificate &= RESOURCES_DEFAULTS["EnableHttps"] == "true"
    if OWN_ZONE and own_certificate:
        # The stack's zone keeps the certificate's validation record: cleared before deleting.
        assert out.index(" CNAME from the hosted zone") < out.index("DELETE_COMPLETE")


@pytest.mark.parametrize("command", ["logs", "ns", "destroy --yes", "image"])
def test_a_missing_stack_is_one_line_and_exit_2(deploy, command):
    status, out, err = deploy(*command.split())
    assert status == 2
    assert err.splitlines() == [
        f"error: Stack {SITE.resources_stack} does not exist in {SITE.region}: "
        "create it with `make deploy`"
    ]


def test_an_unknown_region_is_one_line_and_exit_2(deploy):
    status, _, err = deploy("status", "--region", "mars-1")
    assert (status, err.splitlines()) == (
        2,
        [f"error: --region mars-1: not an AWS region (for example {SITE.region})"],
    )


def test_missing_credentials_are_one_line_and_exit_2(monkeypatch, capsys):
    """Against AWS: without --endpoint-url, which signs with dummy ones (test_walk_fixes.py)."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    status = cli.main(["status"])
    err = capsys.readouterr().err
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
            ["up", "--yes", "--set", "Replicas=3"],
            "error: --set Replicas: no such parameter; the stacks take",
        ),
        (
            ["up", "--yes", "--set", "DesiredCount"],
            "error: --set DesiredCount: write it as KEY=VALUE",
        ),
        (["logs", "--since", "5x"], "error: --since 5x: use a number and s, m, h or d"),
    ],
)
def test_a_bad_option_value_is_one_line_and_exit_2(deploy, args, message):
    status, _, err = deploy(*args)
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith(message)


def test_options_go_before_or_after_the_command():
    before = cli.parser().parse_args(["--region", "us-east-1", "--profile", "ops", "status"])
    after = cli.parser().parse_args(["status", "--region", "us-east-1", "--profile", "ops"])
    assert (before.region, before.profile) == (after.region, after.profile) == ("us-east-1", "ops")


@pytest.mark.parametrize("command", ["plan", "image", "status", "logs", "ns"])
def test_only_the_commands_that_ask_offer_yes(command, capsys):
    """A --yes on a command that never asks would suggest it asks (up and destroy ask)."""
    with pytest.raises(SystemExit):
        cli.parser().parse_args([command, "--yes"])
    assert "unrecognized arguments: --yes" in capsys.readouterr().err


def test_waiting_on_the_certificate_prints_the_new_zones_name_servers(aws, capsys):
    template = {
        "Resources": {
            "HostedZone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": SITE.domain}}
        }
    }
    stack_id = aws("cloudformation").create_stack(
        StackName="zone-only", TemplateBody=json.dumps(template)
    )["StackId"]
    waiting = types.SimpleNamespace(
        stack_id=stack_id,
        in_progress={"Certificate": ("AWS::CertificateManager::Certificate", datetime.now(UTC))},
    )
    notice = commands.certificate_notice(session(aws), SITE.domain, "route53")
    notice(waiting)
    notice(waiting)  # said once, not at every poll
    out = capsys.readouterr().out
    assert out.count(f"Name servers of the hosted zone of {SITE.domain}:") == 1
    assert "awsdns" in out
    # Where: at the registrar for a registered name, the parent's zone first for a longer one.
    assert f"set these name servers now, {dns.delegation(SITE.domain)}." in " ".join(out.split())


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


@pytest.mark.answers
def test_a_default_edited_since_the_last_deploy_applies(
    aws, deploy, deployed, monkeypatch, tmp_path
):
    overrides, _ = deployed
    edited = str(int(SERVICE_DEFAULTS["DesiredCount"]) + 1)
    use_edited_template(monkeypatch, tmp_path, "service", with_default("DesiredCount", edited))

    status, out, _ = deploy("up", "--yes", "--tag", V1, *overrides)
    assert status == 0
    assert "keeping DesiredCount" not in out
    assert parameter(aws, SITE.service_stack, "DesiredCount") == edited


# ---------------------------------------------------------------- what AWS refuses


def other_value(defaults, key, choices):
    """A value of the parameter other than the bake's default."""
    return next(choice for choice in choices if choice != defaults[key])


@pytest.mark.answers
@pytest.mark.parametrize(
    ("key", "choices"),
    [
        ("EnableHttps", ("true", "false")),
        # A joining site's: its host's (the host refuses a change while sites are joined).
        pytest.param("NatGateways", ("0", "1", "2"), marks=owns_network),
        pytest.param("EnableIpv6", ("false", "true"), marks=owns_network),
        ("DomainName", ("changed-site.example",)),
    ],
)
def test_a_changed_resources_parameter_deploys_and_reaches_the_service(
    aws, deploy, deployed, key, choices
):
    """What an export would carry, a later --set may change: AWS refuses to change an export in
    use, so those values reach the service stack as parameters (see standin/rules.py's rule)."""
    overrides, _ = deployed
    if key == "DomainName" and RESOURCES_DEFAULTS["HostedZoneId"]:
        pytest.skip("another domain needs another hosted zone than the one this site names")
    changed = other_value(RESOURCES_DEFAULTS, key, choices)
    if (key, changed) == ("EnableHttps", "true") and len(SITE.domain) > MAX_CERTIFICATE_NAME:
        # Too long a name for a certificate of the stack's own (a test below has the refusal).
        overrides += ["--set", f"CertificateArn={rehearse.stand_in_certificate(session(aws))}"]

    status, out, err = deploy("up", "--yes", "--tag", V1, "--set", f"{key}={changed}", *overrides)

    assert status == 0, out + err
    assert parameter(aws, SITE.resources_stack, key) == changed
    resources = stacks.outputs(
        aws("cloudformation").describe_stacks(StackName=SITE.resources_stack)["Stacks"][0]
    )
    resources |= host.task_network(session(aws), resources)  # a joining site's: its host's
    for name in stacks.FROM_RESOURCES:
        assert parameter(aws, SITE.service_stack, name) == resources[name], name
    scheme = "https" if parameter(aws, SITE.resources_stack, "EnableHttps") == "true" else "http"
    domain = parameter(aws, SITE.resources_stack, "DomainName")
    assert resources["SiteUrl"] == f"{scheme}://{domain}"
    own_certificate = scheme == "https" and not RESOURCES_DEFAULTS["CertificateArn"]
    if key == "DomainName" and own_certificate and OWN_ZONE:
        # The old zone keeps the old certificate's validation record: left behind, and said.
        assert "warning: HostedZone (AWS::Route53::HostedZone) could not be deleted" in out
    assert resources["ServiceAssignPublicIp"] == (
        "ENABLED" if parameter(aws, SITE.resources_stack, "NatGateways") == "0" else "DISABLED"
    )


@pytest.mark.answers
@owns_network
def test_nat_gateways_to_zero_moves_the_tasks_before_the_gateways_go(aws, deploy, deployed):
    overrides, _ = deployed
    if RESOURCES_DEFAULTS["NatGateways"] == "0":
        assert deploy("up", "--yes", "--tag", V1, "--set", "NatGateways=1", *overrides)[0] == 0

    status, out, err = deploy("up", "--yes", "--tag", V1, "--set", "NatGateways=0", *overrides)

    assert status == 0, out + err
    moved = out.index("the tasks move to the public subnets first")
    assert (
        moved
        < out.index(f"{SITE.service_stack}: UPDATE_COMPLETE")
        < out.index(f"{SITE.resources_stack}: UPDATE_COMPLETE")
    )
    assert parameter(aws, SITE.service_stack, "ServiceAssignPublicIp") == "ENABLED"


def export_and_import(aws):
    """Two stacks: one exports a value, the other imports it."""
    cloudformation = aws("cloudformation")
    exporter = {
        "Parameters": {"Value": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Shared": {"Value": {"Ref": "Value"}, "Export": {"Name": "shared-value"}}},
    }
    importer = {
        "Resources": {
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"DisplayName": {"Fn::ImportValue": "shared-value"}},
            }
        }
    }
    cloudformation.create_stack(
        StackName="exporter",
        TemplateBody=json.dumps(exporter),
        Parameters=[{"ParameterKey": "Value", "ParameterValue": "one"}],
    )
    cloudformation.create_stack(StackName="importer", TemplateBody=json.dumps(importer))
    return cloudformation, exporter


def change_set_run(cloudformation, stack, template, **parameters):
    created = cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName="change",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    cloudformation.execute_change_set(ChangeSetName=created["Id"])
    return cloudformation.describe_stacks(StackName=stack)["Stacks"][0]


def test_the_stand_in_refuses_to_change_an_export_in_use(aws):
    cloudformation, exporter = export_and_import(aws)

    stack = change_set_run(cloudformation, "exporter", exporter, Value="two")

    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert stacks.outputs(stack)["Shared"] == "one"
    reasons = [e.get("ResourceStatusReason") for e in watch.all_events(cloudformation, "exporter")]
    assert "Export shared-value cannot be updated as it is in use by importer" in reasons


def test_the_stand_in_refuses_to_delete_a_stack_whose_export_is_in_use(aws):
    cloudformation, _ = export_and_import(aws)

    cloudformation.delete_stack(StackName="exporter")

    stack = cloudformation.describe_stacks(StackName="exporter")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["StackStatusReason"] == (
        "Export shared-value cannot be deleted as it is in use by importer"
    )


@pytest.mark.answers
def test_destroy_removes_the_certificates_validation_record_so_the_zone_can_go(
    aws, deploy, deployed
):
    if not OWN_ZONE:
        pytest.skip("this site has no hosted zone of its own")
    zone = stacks.outputs(
        aws("cloudformation").describe_stacks(StackName=SITE.resources_stack)["Stacks"][0]
    )["HostedZoneId"]
    route53 = aws("route53")
    # A record someone added by hand, and (with HTTPS) the certificate's validation record.
    add_record(aws, zone, f"mail.{SITE.domain}.", "MX", "10 mx.example.net.")

    status, out, err = deploy("destroy", "--yes")

    assert status == 0, out + err
    assert f"Removed mail.{SITE.domain} MX from the hosted zone" in out
    if RESOURCES_DEFAULTS["EnableHttps"] == "true" and not RESOURCES_DEFAULTS["CertificateArn"]:
        assert re.search(rf"Removed _\w+\.{re.escape(SITE.domain)} CNAME from the hosted zone", out)
    assert stack_names(aws) == set()
    assert zone not in [z["Id"].split("/")[-1] for z in route53.list_hosted_zones()["HostedZones"]]


def test_the_stand_in_refuses_to_delete_a_zone_holding_other_records(aws):
    template = {
        "Resources": {
            "Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": SITE.domain}}
        }
    }
    cloudformation = aws("cloudformation")
    stack_id = cloudformation.create_stack(StackName="zone", TemplateBody=json.dumps(template))[
        "StackId"
    ]
    (zone,) = stacks.physical_ids(session(aws), stack_id, "AWS::Route53::HostedZone")
    add_record(aws, zone, f"_x.{SITE.domain}.", "CNAME", "_y.acm-validations.aws.")

    cloudformation.delete_stack(StackName=stack_id)

    assert cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == (
        "DELETE_FAILED"
    )
    reasons = [
        e.get("ResourceStatusReason") or "" for e in watch.all_events(cloudformation, stack_id)
    ]
    assert any("HostedZoneNotEmpty" in reason for reason in reasons)


@pytest.mark.parametrize(
    ("name", "record_type"),
    [("", "A"), ("www.", "CNAME"), ("www.", "AAAA")],
    ids=["apex-A", "www-CNAME", "www-AAAA"],
)
def test_records_already_in_an_existing_zone_stop_plan_and_up_before_any_change(
    aws, deploy, name, record_type
):
    zone = new_zone(aws)
    value = {"A": "192.0.2.1", "AAAA": "2001:db8::1", "CNAME": "elsewhere.example.net."}[
        record_type
    ]
    add_record(aws, zone, f"{name}{SITE.domain}.", record_type, value)
    args = ["--tag", V1, "--set", f"HostedZoneId={zone}", "--set", "DnsProvider=route53"]
    args += [a for a in site_overrides(aws) if not a.startswith("HostedZoneId=")]

    for command in (["plan"], ["up", "--yes"]):
        status, _, err = deploy(*command, *args)
        assert status == 2, command
        assert err.splitlines() == [
            f"error: Hosted zone {zone} already has {name}{SITE.domain} {record_type}, where the "
            "site puts its own alias records to the load balancer; nothing was changed. Delete "
            "those records (a site moving here from elsewhere: once the new one is ready), or "
            "deploy another DomainName"
        ]
    assert stack_names(aws) == set()


def test_the_stand_in_refuses_a_record_that_exists(aws):
    zone = new_zone(aws)
    group = {
        "Type": "AWS::Route53::RecordSetGroup",
        "Properties": {
            "HostedZoneId": zone,
            "RecordSets": [
                {
                    "Name": f"{SITE.domain}.",
                    "Type": "A",
                    "TTL": "60",
                    "ResourceRecords": ["192.0.2.1"],
                }
            ],
        },
    }
    cloudformation = aws("cloudformation")
    cloudformation.create_stack(
        StackName="first", TemplateBody=json.dumps({"Resources": {"R": group}})
    )
    stack = change_set_create(cloudformation, "second", {"Resources": {"R": group}})

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert watch.first_failure(watch.all_events(cloudformation, "second")) == (
        "R (AWS::Route53::RecordSetGroup): [Tried to create resource record set "
        f"[name='{SITE.domain}.', type='A'] but it already exists]"
    )


def change_set_create(cloudformation, stack, template):
    created = cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName="create",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
    )
    cloudformation.execute_change_set(ChangeSetName=created["Id"])
    return cloudformation.describe_stacks(StackName=stack)["Stacks"][0]


def test_an_unknown_hosted_zone_is_one_line_before_any_change(aws, deploy, endpoint):
    status, _, err = deploy(
        "up",
        "--yes",
        "--tag",
        V1,
        "--set",
        "HostedZoneId=Z0000000000000NOSUCH",
        "--set",
        "DnsProvider=route53",
    )
    assert status == 2
    assert err.splitlines() == [
        "error: HostedZoneId Z0000000000000NOSUCH: no such hosted zone in this account (`aws "
        f"route53 list-hosted-zones --region {SITE.region} --endpoint-url {endpoint}` lists "
        "them); leave it empty to create one"
    ]
    assert stack_names(aws) == set()


def test_the_first_deploy_in_a_fresh_account_creates_the_service_linked_roles_first(
    aws, deploy, deployed, first_image
):
    overrides, out = deployed
    first_image()
    roles = {role["RoleName"] for role in aws("iam").list_roles()["Roles"]}
    assert set(moto_rules.SERVICE_LINKED_ROLES.values()) <= roles
    # Created by the fixture's `up`, unless the stand-in host's deploy made them first.
    assert ("Created the service-linked roles this account lacked" in out) == (not HOST)
    status, out, err = deploy("up", "--yes", *overrides)
    assert status == 0, out + err
    assert "Created the service-linked roles" not in out  # found them and said nothing


# The host's first deploy made the account's service-linked roles (its stand-in here too).
in_a_fresh_account = pytest.mark.skipif(bool(HOST), reason=f"{HOST}'s deploy made the roles")


@in_a_fresh_account
def test_the_stand_in_fails_a_cluster_without_the_ecs_service_linked_role(aws):
    cluster = {"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"}}}

    stack = change_set_create(aws("cloudformation"), "cluster", cluster)

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failure = watch.first_failure(watch.all_events(aws("cloudformation"), "cluster"))
    assert "Unable to assume the service linked role" in failure


@in_a_fresh_account
def test_a_second_service_linked_role_is_refused_as_iam_does(aws):
    aws("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    with pytest.raises(aws("iam").exceptions.InvalidInputException, match="has been taken"):
        aws("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")


def test_the_github_oidc_provider_outlives_its_site_and_serves_the_next(aws, deploy, monkeypatch):
    github = [*GITHUB, *GITHUB_IDS, *site_overrides(aws)]
    resources_only(deploy, monkeypatch, *github)
    (provider,) = aws("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]

    status, out, err = deploy("destroy", "--yes")
    assert status == 0, out + err
    assert f"Kept on purpose: GithubOidcProvider (AWS::IAM::OIDCProvider) {provider['Arn']}" in out

    out = resources_only(deploy, monkeypatch, *github)  # the new site's resources again
    assert f"Using the account's GitHub OIDC provider {provider['Arn']}" in out
    assert parameter(aws, SITE.resources_stack, "GithubOidcProviderArn") == provider["Arn"]
    listed = aws("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert listed == [provider]


# ---------------------------------------------------------------- the GitHub deploy role's trust

GITHUB = ["--set", "GithubRepo=acme/site"]
GITHUB_ID_SOURCES = github.ID_SOURCES  # the fixture puts a stand-in of GitHub there
GITHUB_IDS = ["--set", "GithubOwnerId=123456", "--set", "GithubRepoId=456789"]


def github_token(sub, aud="sts.amazonaws.com"):
    """A token as GitHub's OIDC provider issues one to a workflow (unsigned: the stand-in reads
    its claims only)."""

    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"iss": "https://token.actions.githubusercontent.com", "aud": aud, "sub": sub}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.signature"


def assume_deploy_role(aws, sub, aud="sts.amazonaws.com"):
    described = aws("cloudformation").describe_stacks(StackName=SITE.resources_stack)["Stacks"][0]
    role = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}["DeployRoleArn"]
    return aws("sts").assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="deploy-1", WebIdentityToken=github_token(sub, aud)
    )


@pytest.mark.parametrize(
    ("subject", "trusted", "refused"),
    [
        pytest.param(
            "ids",
            "repo:acme@123456/site@456789:ref:refs/heads/main",
            [
                "repo:acme/site:ref:refs/heads/main",  # the form of older repositories
                "repo:acme@123456/site@999999:ref:refs/heads/main",  # a new repo of that name
                "repo:acme@123456/site@456789:ref:refs/heads/dev",
                "repo:acme@123456/site@456789:pull_request",
            ],
            id="ids",
        ),
        pytest.param(
            "names",
            "repo:acme/site:ref:refs/heads/main",
            [
                "repo:acme@123456/site@456789:ref:refs/heads/main",
                "repo:acme/site:ref:refs/heads/dev",
                "repo:acme/site:environment:production",
            ],
            id="names",
        ),
    ],
)
def test_the_deploy_role_trusts_main_by_the_subject_github_sends(
    aws, deploy, monkeypatch, subject, trusted, refused
):
    given = [*GITHUB, *GITHUB_IDS, *site_overrides(aws), "--set", f"GithubSubject={subject}"]
    resources_only(deploy, monkeypatch, *given)

    assert assume_deploy_role(aws, trusted)["AssumedRoleUser"]["Arn"]
    for sub in refused:
        with pytest.raises(ClientError, match="Not authorized to perform sts:AssumeRole"):
            assume_deploy_role(aws, sub)
    with pytest.raises(ClientError, match="InvalidIdentityToken"):
        assume_deploy_role(aws, trusted, aud="https://github.com/acme")


def fake_gh(tmp_path, monkeypatch, answer):
    """A `gh` on PATH that answers `gh api repos/...` with `answer` (JSON), as GitHub's API does."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f"#!/bin/sh\ncat <<'EOF'\n{answer}\nEOF\n")
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def outside_github_actions(monkeypatch):
    monkeypatch.setattr(github, "ID_SOURCES", GITHUB_ID_SOURCES)
    for key in ("GITHUB_REPOSITORY", "GITHUB_REPOSITORY_ID", "GITHUB_REPOSITORY_OWNER_ID"):
        monkeypatch.delenv(key, raising=False)


def without_github(monkeypatch):
    """Neither a GitHub Actions job nor a gh that answers."""
    outside_github_actions(monkeypatch)
    monkeypatch.setattr(github.shutil, "which", lambda name: None)


def test_the_repository_ids_come_from_gh(aws, deploy, tmp_path, monkeypatch):
    outside_github_actions(monkeypatch)
    fake_gh(tmp_path, monkeypatch, '{"name": "acme/site", "owner": 123456, "repo": 456789}')

    out = resources_only(deploy, monkeypatch, *GITHUB, *site_overrides(aws))

    assert "GitHub repository acme/site: owner id 123456, repository id 456789 (from gh)" in out
    assert assume_deploy_role(aws, "repo:acme@123456/site@456789:ref:refs/heads/main")


def test_the_repository_ids_come_from_the_github_actions_job(aws, deploy, monkeypatch):
    without_github(monkeypatch)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/site")
    monkeypatch.setenv("GITHUB_REPOSITORY_OWNER_ID", "11")
    monkeypatch.setenv("GITHUB_REPOSITORY_ID", "22")

    out = resources_only(deploy, monkeypatch, *GITHUB, *site_overrides(aws))

    assert "owner id 11, repository id 22 (from this GitHub Actions job)" in out
    assert parameter(aws, SITE.resources_stack, "GithubRepoId") == "22"


@pytest.mark.parametrize("command", ["plan", "up --yes"])
def test_unknown_repository_ids_are_refused_in_one_line_before_any_change(
    aws, deploy, monkeypatch, command
):
    without_github(monkeypatch)

    status, out, err = deploy(*command.split(), "--tag", V1, *GITHUB, *site_overrides(aws))

    assert status == 2, out + err
    assert err.splitlines() == [
        "error: GithubRepo acme/site: the deploy role trusts its owner's and repository's ids "
        "(GithubSubject ids), and gh could not read them here: run `gh api repos/acme/site "
        "--jq '.owner.id, .id'` and deploy with --set GithubOwnerId=<first> --set "
        "GithubRepoId=<second> (or --set GithubSubject=names for a repository made before "
        "2026-07-15 that has not opted in)"
    ]
    assert stack_names(aws) == set()


def test_a_deploy_role_made_before_the_ids_form_keeps_trusting_names(
    aws, deploy, monkeypatch, tmp_path
):
    """A site whose deploy role trusted repo:<owner>/<name> before this template knew ids: its
    repository's tokens still name no ids, so an update must not switch its CI off."""
    without_github(monkeypatch)
    older = stacks.decode(stacks.resources().template.read_text())
    for key in ("GithubSubject", "GithubOwnerId", "GithubRepoId"):
        del older["Parameters"][key]
    del older["Rules"], older["Conditions"]["GithubSubjectHasIds"]
    trust = older["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]
    claims = trust["Statement"][0]["Condition"]["StringEquals"]
    claims["token.actions.githubusercontent.com:sub"] = {
        "Fn::Sub": "repo:${GithubRepo}:ref:refs/heads/main"
    }
    (tmp_path / "resources.json").write_text(json.dumps(older))
    own = use_template(monkeypatch, "resources", tmp_path / "resources.json")
    resources_only(deploy, monkeypatch, *GITHUB, *site_overrides(aws))
    monkeypatch.setattr(stacks, "resources", own)
    push_image(aws, V1)

    status, out, err = deploy("up", "--yes", "--tag", V1, *site_overrides(aws))

    assert status == 0, out + err
    assert (
        "GithubSubject names: kept for acme/site, whose deploy role was made before the ids "
        "form; `--set GithubSubject=ids` once its tokens name ids (GitHub's OIDC settings)"
    ) in out
    assert parameter(aws, SITE.resources_stack, "GithubSubject") == "names"
    assert assume_deploy_role(aws, "repo:acme/site:ref:refs/heads/main")


@pytest.mark.parametrize("command", ["plan", "up --yes"])
def test_desired_count_above_max_count_is_refused_before_any_change(aws, deploy, command):
    status, _, err = deploy(
        *command.split(), "--tag", V1, "--set", "DesiredCount=5", "--set", "MaxCount=3"
    )
    assert status == 2
    assert err.splitlines() == [
        "error: DesiredCount 5 is above MaxCount 3: set MaxCount to at least 5 (equal turns "
        "autoscaling off), e.g. --set MaxCount=5"
    ]
    assert stack_names(aws) == set()


def test_a_new_template_dropping_an_export_in_use_updates_the_service_first(
    aws, deploy, deployed, monkeypatch, tmp_path
):
    """A site deployed by an older version of the template, whose service imports an export the
    new resources template no longer has (AWS refuses to remove an export in use)."""
    overrides, _ = deployed
    old = stacks.resources().template.read_text() + (
        '  OldExport:\n    Value: old\n    Export: {Name: !Sub "${AWS::StackName}-OldExport"}\n'
    )
    importing = (
        stacks.service()
        .template.read_text()
        .replace(
            "  AlarmTopicArn:\n",
            '  OldImport:\n    Value: {"Fn::ImportValue": !Sub "${ResourcesStackName}-OldExport"}\n'
            "  AlarmTopicArn:\n",
        )
    )
    for name, text in (("resources.yaml", old), ("service.yaml", importing)):
        (tmp_path / name).write_text(text)
    own = {
        stack: use_template(monkeypatch, stack, tmp_path / f"{stack}.yaml")
        for stack in ("resources", "service")
    }
    assert deploy("up", "--yes", "--tag", V1, *overrides)[0] == 0
    for stack, spec in own.items():
        monkeypatch.setattr(stacks, stack, spec)

    status, out, err = deploy("up", "--yes", "--tag", V1, *overrides)

    assert status == 0, out + err
    assert out.index(f"{SITE.service_stack} first") < out.index(
        f"{SITE.resources_stack}: UPDATE_COMPLETE"
    )


# ---------------------------------------------------------------- status, as a site goes


def test_status_before_anything_is_deployed(deploy):
    status, out, err = deploy("status")
    assert status == 0, err
    assert row(out, SITE.resources_stack) == "not created"
    assert row(out, SITE.service_stack) == "not created"
    assert "Nothing is deployed yet: `make deploy` creates both stacks." in out


@pytest.mark.answers
def test_status_with_the_resources_only_shows_the_pending_certificate(aws, deploy, monkeypatch):
    resources_only(deploy, monkeypatch, *site_overrides(aws))
    status, out, err = deploy("status")
    assert status == 0, err
    assert row(out, SITE.resources_stack) == "CREATE_COMPLETE"
    assert row(out, SITE.service_stack) == "not created"
    if RESOURCES_DEFAULTS["EnableHttps"] == "true":
        # At another provider, the stand-in user created the validation record at once.
        waiting = "ISSUED" if EXTERNAL_DNS else "PENDING_VALIDATION (waits for "
        assert row(out, "certificate").startswith(waiting)


@pytest.mark.answers
def test_status_while_the_resources_wait_for_the_certificate(aws, deploy, monkeypatch):
    """CloudFormation holds the creation until the certificate validates; outputs come later."""
    if RESOURCES_DEFAULTS["EnableHttps"] != "true" or RESOURCES_DEFAULTS["CertificateArn"]:
        pytest.skip("this site requests no certificate of its own")
    resources_only(deploy, monkeypatch, *site_overrides(aws))
    backend = cloudformation_backends[ACCOUNT][SITE.region]
    stack = next(s for s in backend.stacks.values() if s.name == SITE.resources_stack)
    stack.status = "CREATE_IN_PROGRESS"
    stack.output_map = {}

    status, out, err = deploy("status")

    assert status == 0, err
    assert row(out, SITE.resources_stack) == "CREATE_IN_PROGRESS"
    if not EXTERNAL_DNS:  # the test of an external site's wait is below
        assert row(out, "certificate").startswith("PENDING_VALIDATION (waits for the domain to")


def test_status_of_a_failed_stack_says_why(aws, deploy, deployed):
    backend = cloudformation_backends[ACCOUNT][SITE.region]
    stack = next(s for s in backend.stacks.values() if s.name == SITE.service_stack)
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id="Service",
            physical_resource_id="",
            resource_type="AWS::ECS::Service",
            resource_status="UPDATE_FAILED",
            resource_status_reason="ECS Deployment Circuit Breaker was triggered",
            resource_properties=None,
        )
    )
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"

    status, out, err = deploy("status")

    assert status == 0, err
    assert row(out, SITE.service_stack) == "UPDATE_ROLLBACK_COMPLETE"
    assert (
        "last failure: Service (AWS::ECS::Service): ECS Deployment Circuit Breaker was triggered"
        in out
    )
    assert row(out, "image") == V1


# ---------------------------------------------------------------- before the first change


def test_up_without_a_git_commit_stops_before_any_change(aws, deploy, monkeypatch, tmp_path):
    # The site's files in a folder without a commit.
    monkeypatch.chdir(
        shutil.copytree(FOLDER, tmp_path / "site", ignore=shutil.ignore_patterns(".git"))
    )
    status, _, err = deploy("up", "--yes", *site_overrides(aws))
    assert status == 2
    assert "git init" in err and len(err.splitlines()) == 1
    assert stack_names(aws) == set()


@pytest.mark.parametrize(
    ("written", "said"),
    [("    Interface: 2\n", "interface 2"), ("", "no interface version")],
    ids=["a later interface", "a template from before interfaces"],
)
def test_templates_of_another_interface_are_refused_in_one_line_before_any_change(
    aws, deploy, monkeypatch, tmp_path, written, said
):
    site_copy = shutil.copytree(FOLDER, tmp_path / "site", ignore=shutil.ignore_patterns(".git"))
    service = site_copy / "cloudformation" / "service.yaml"
    service.write_text(service.read_text().replace("    Interface: 1\n", written))
    monkeypatch.chdir(site_copy)

    for command in ("up", "plan", "status"):
        status, _, err = deploy(command, *(["--yes"] if command == "up" else []))
        assert status == 2
        assert err.startswith(f"error: cloudformation/service.yaml: {said} (Metadata ")
        assert "deploys interface 1: `cruft update` the site" in err
        assert len(err.splitlines()) == 1
    assert stack_names(aws) == set()


def test_up_without_a_docker_engine_stops_before_any_change(aws, deploy, monkeypatch, tmp_path):
    monkeypatch.setattr(image, "source_tag", lambda project=None: "abc1234")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    status, _, err = deploy("up", "--yes", *site_overrides(aws))
    assert status == 2
    assert err.startswith("error: No Docker engine answers (") and len(err.splitlines()) == 1
    assert stack_names(aws) == set()


def test_up_without_credentials_stops_before_any_change(aws, deploy, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    status, _, err = deploy("up", "--yes", "--tag", V1)
    assert status == 2 and "No AWS credentials found" in err
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert stack_names(aws) == set()


@pytest.mark.answers
def test_destroy_completes_when_the_stacks_zone_is_already_gone(aws, deploy, deployed):
    """After a partial deletion (or a rollback) the zone may be gone while the stack stays."""
    if not OWN_ZONE:
        pytest.skip("this site has no hosted zone of its own")
    zone = stacks.outputs(
        aws("cloudformation").describe_stacks(StackName=SITE.resources_stack)["Stacks"][0]
    )["HostedZoneId"]
    route53_backends[ACCOUNT]["aws"].zones.pop(zone)

    status, out, err = deploy("destroy", "--yes")

    assert status == 0, out + err
    assert stack_names(aws) == set()


def test_status_says_when_the_certificate_named_is_gone(aws, deploy, deployed):
    overrides, _ = deployed
    arn = rehearse.stand_in_certificate(session(aws))
    assert (
        deploy(
            "up",
            "--yes",
            "--tag",
            V1,
            "--set",
            "EnableHttps=true",
            "--set",
            f"CertificateArn={arn}",
        )[0]
        == 0
    )
    aws("acm").delete_certificate(CertificateArn=arn)

    status, out, err = deploy("status")

    assert status == 0, err
    assert (
        row(out, "certificate") == "not in ACM any more: `--set CertificateArn=ARN` names another"
    )


@pytest.mark.parametrize("command", ["plan", "up --yes"])
def test_https_for_a_name_acm_cannot_certify_is_refused_before_any_change(aws, deploy, command):
    long_domain = "a" * 61 + ".com"  # 65 characters
    status, _, err = deploy(
        *command.split(),
        "--tag",
        V1,
        "--set",
        f"DomainName={long_domain}",
        "--set",
        "EnableHttps=true",
        "--set",
        "CertificateArn=",
    )
    assert status == 2
    assert err.splitlines() == [
        f"error: DomainName {long_domain}: 65 characters, and ACM puts at most 64 in the "
        "certificate the stack would request: pass --set CertificateArn=<a certificate with it "
        "as an alternative name>, or keep EnableHttps=false"
    ]
    assert stack_names(aws) == set()


# ---------------------------------------------------------------- what was reviewed is applied


def test_up_without_a_terminal_needs_yes_before_anything(aws, deploy):
    status, _, err = deploy("up", "--tag", V1)
    assert status == 2
    assert err.splitlines() == [
        "error: up shows each change set and applies it once you say yes: pass --yes to apply "
        "them without a terminal (CI, scripts)"
    ]
    assert stack_names(aws) == set()


@pytest.fixture
def terminal(monkeypatch):
    """A terminal on stdin that answers each question from a list, and keeps the questions."""
    answers, questions = [], []
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)

    def ask(prompt):
        questions.append(str(prompt))  # as the user reads it, styles aside
        return answers.pop(0)

    monkeypatch.setattr(ui.console, "input", ask)
    return types.SimpleNamespace(answers=answers, questions=questions)


def test_up_applies_the_change_set_it_showed_once_told_yes(aws, deploy, terminal, first_image):
    terminal.answers += ["y"]
    first_image(pushed=False)
    status, out, err = deploy("up", *site_overrides(aws))

    assert status == 1, out + err  # created; the image's push failed
    assert terminal.questions == [f"Apply these changes to {SITE.resources_stack}? [y/N] "]
    shown = out.index(f"{SITE.resources_stack} would be created:")
    assert shown < out.index(f"{SITE.resources_stack}: creation started")
    executed = aws("cloudformation").list_change_sets(StackName=SITE.resources_stack)
    assert [c["ExecutionStatus"] for c in executed["Summaries"]] == ["EXECUTE_COMPLETE"]
    assert stack_names(aws) == {SITE.resources_stack}


def test_up_told_no_changes_nothing_and_leaves_no_change_set(aws, deploy, terminal, first_image):
    terminal.answers += ["n"]
    first_image()
    status, out, err = deploy("up", *site_overrides(aws))

    assert status == 1
    assert f"{SITE.resources_stack} would be created:" in out
    assert err.splitlines() == [f"error: Nothing changed: {SITE.resources_stack} stays as it was."]
    assert stack_names(aws) == set()
    assert aws("cloudformation").list_change_sets(StackName=SITE.resources_stack)["Summaries"] == []


def test_destroy_asks_saying_the_secrets_go_too(aws, deploy, terminal, monkeypatch):
    resources_only(deploy, monkeypatch, *site_overrides(aws))
    terminal.answers += ["no"]

    status, _, err = deploy("destroy")

    assert status == 1
    assert err.splitlines() == [f"error: Nothing deleted: 'no' is not {SITE.domain}"]
    (question,) = terminal.questions
    assert "its secrets and access logs are kept" in question
    assert SITE.resources_stack in stack_names(aws)


@pytest.mark.answers
def test_plan_as_json_states_each_stacks_changes(aws, deploy, deployed):
    overrides, _ = deployed
    scaled = str(int(SERVICE_DEFAULTS["DesiredCount"]) + 1)

    status, out, err = deploy(
        "plan", "--output", "json", "--tag", V1, "--set", f"DesiredCount={scaled}", *overrides
    )

    assert status == 0, err
    resources, service = json.loads(out)
    assert resources == {"stack": SITE.resources_stack, "action": None, "note": "no changes"}
    assert service["stack"] == SITE.service_stack and service["action"] == "update"
    assert service["parameters"]["DesiredCount"] == {
        "from": SERVICE_DEFAULTS["DesiredCount"],
        "to": scaled,
    }
    assert all(
        set(change) == {"action", "logical_id", "type", "replacement"}
        for change in service["changes"]
    )


@pytest.mark.answers
def test_status_as_json_states_the_facts_the_table_shows(aws, deploy, deployed):
    status, out, err = deploy("status", "--output", "json")

    assert status == 0, err
    facts = json.loads(out)
    assert facts["domain"] == SITE.domain and facts["region"] == SITE.region
    assert [(s["name"], s["status"]) for s in facts["stacks"]] == [
        (SITE.resources_stack, "CREATE_COMPLETE"),
        (SITE.service_stack, "CREATE_COMPLETE"),
    ]
    assert facts["image"] == V1
    assert facts["service"]["found"] is True
    assert {"running", "desired", "pending", "deployments"} <= set(facts["service"])
    scheme = "https" if RESOURCES_DEFAULTS["EnableHttps"] == "true" else "http"
    assert facts["url"] == f"{scheme}://{SITE.domain}"


def test_status_as_json_before_anything_is_deployed(deploy):
    status, out, err = deploy("status", "--output", "json")

    assert status == 0, err
    facts = json.loads(out)
    assert [s["status"] for s in facts["stacks"]] == [None, None]
    assert facts["service"] is None and facts["url"] is None


# ---------------------------------------------------------------- DNS at another provider


def external_dns_overrides(https):
    """--set options for this bake's site with its DNS at another provider, HTTPS on or off
    (on: with a certificate of the stack's own, validated there)."""
    if https == "true" and len(SITE.domain) > MAX_CERTIFICATE_NAME:
        pytest.skip("ACM certifies no name this long: the refusal is tested above")
    return [
        *("--set", "DnsProvider=external", "--set", "HostedZoneId="),
        *("--set", f"EnableHttps={https}", "--set", "CertificateArn="),
    ]


def load_balancer_name(aws):
    """The name the site's records point at: with IPv6 (EnableIpv6, the default) the
    "dualstack." one, the only one answering AAAA
    (https://repost.aws/knowledge-center/elb-configure-with-ipv6)."""
    (balancer,) = aws("elbv2").describe_load_balancers()["LoadBalancers"]
    assert balancer["IpAddressType"] == ("dualstack" if IPV6 else "ipv4")
    return f"dualstack.{balancer['DNSName']}" if IPV6 else balancer["DNSName"]


def site_record_lines(aws):
    target = load_balancer_name(aws)
    return [
        f"  {SITE.domain}.  CNAME, or ALIAS/ANAME at a zone apex  {target}.",
        f"  www.{SITE.domain}.  CNAME  {target}.",
    ]


def validation_line(aws):
    (arn,) = [
        c["CertificateArn"]
        for c in aws("acm").list_certificates()["CertificateSummaryList"]
        if c["DomainName"] == SITE.domain  # not a stand-in host's
    ]
    options = aws("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    record = options["DomainValidationOptions"][0]["ResourceRecord"]
    return f"  {record['Name']}  CNAME  {record['Value']}"


@pytest.mark.parametrize("https", ["true", "false"])
def test_an_external_dns_site_deploys_with_no_zone_and_up_and_ns_print_the_records(
    aws, deploy, monkeypatch, https
):
    overrides = external_dns_overrides(https)
    first = resources_only(deploy, monkeypatch, *overrides)
    push_image(aws, V1)
    status, out, err = deploy("up", "--yes", "--tag", V1, *overrides)
    assert status == 0, out + err

    zones = aws("route53").list_hosted_zones()["HostedZones"]
    assert [z for z in zones if z["Name"] == f"{SITE.domain}."] == []  # and so no record
    records = site_record_lines(aws)
    # Said once, where the load balancer is first known (the stand-in provider creates them
    # then, as a user would): with HTTPS while the creation waits for the certificate, without
    # it at the end of the first `up` that completes. A later `up` finds them in place.
    told, later = (first, out) if https == "true" else (out, "")
    assert [line for line in told.splitlines() if line in records] == records
    assert [line for line in later.splitlines() if line in records] == []
    if later:
        said = f"{SITE.domain}'s records at the DNS provider answer as the load balancer."
        assert said in " ".join(later.split())
    assert "Name servers" not in first + out
    done = first.index(f"{SITE.resources_stack}: CREATE_COMPLETE")
    if https == "true":
        # Printed while the creation waited for it, and exactly the record ACM checks: the
        # stand-in provider validates the certificate through nothing else.
        assert first.index(validation_line(aws)) < done
        assert first.index(records[1]) < done
        assert validation_line(aws) not in out  # issued: in place
    else:
        assert "validation record" not in first + out

    status, out, _ = deploy("ns")
    assert status == 0
    expected = [validation_line(aws), *records] if https == "true" else records
    assert [line for line in out.splitlines() if line.startswith("  ")] == expected


def deploy_role_actions():
    """The actions the GitHub deploy role's policy allows, lower case, as IAM compares them; an
    Fn::If statement at its first branch, which holds for a site requesting its certificate."""
    template = cfn_yaml.load(str(FOLDER / "cloudformation" / "resources.yaml"))
    (policy,) = template["Resources"]["DeployRole"]["Properties"]["Policies"]
    allowed = set()
    for statement in policy["PolicyDocument"]["Statement"]:
        statement = statement["Fn::If"][1] if "Fn::If" in statement else statement
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        allowed |= {a.lower() for a in ([actions] if isinstance(actions, str) else actions)}
    return allowed


def calls_recorded(monkeypatch, refused=()):
    """Every AWS operation the tool's clients send from now on, as IAM names it; those in
    `refused` fail with AccessDenied, as AWS answers a role whose policy lacks them."""
    called = set()

    def record(model, **kwargs):  # botocore's before-call event: the operation about to be sent
        action = f"{model.service_model.signing_name}:{model.name}"
        called.add(action)
        if action in refused:
            error = {"Code": "AccessDenied", "Message": f"not authorized to perform: {action}"}
            raise ClientError({"Error": error}, model.name)

    make_client = boto3.session.Session.client

    def recording_client(self, *args, **kwargs):
        client = make_client(self, *args, **kwargs)
        client.meta.events.register("before-call", record)
        return client

    monkeypatch.setattr(boto3.session.Session, "client", recording_client)
    return called


def test_ci_deploys_an_external_dns_site_with_only_what_its_role_allows(aws, deploy, monkeypatch):
    """`up --service-only` as the deploy workflow runs it, with the DeployRole's rights: every
    AWS call the tool makes is an action the role's policy names."""
    overrides = external_dns_overrides("true")
    resources_only(deploy, monkeypatch, *overrides)
    push_image(aws, V1)
    called = calls_recorded(monkeypatch)
    status, out, err = deploy("up", "--yes", "--service-only", "--tag", V1)
    assert status == 0, out + err
    assert "DNS provider" not in out  # said by the workstation's deploys, not CI's
    assert sorted(a for a in called if a.lower() not in deploy_role_actions()) == []


def test_the_stand_in_holds_the_creation_until_the_exact_validation_record_answers(aws):
    certificate = {"DomainName": "example.org", "ValidationMethod": "DNS"}
    template = {
        "Resources": {
            "Certificate": {
                "Type": "AWS::CertificateManager::Certificate",
                "Properties": certificate,
            }
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Certificate"}}},
    }
    cloudformation = aws("cloudformation")

    stack = change_set_create(cloudformation, "waits", template)

    assert stack["StackStatus"] == "CREATE_IN_PROGRESS" and "Outputs" not in stack
    (arn,) = stacks.physical_ids(session(aws), stack["StackId"], CERTIFICATE)
    described = aws("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    assert described["Status"] == "PENDING_VALIDATION"
    record = described["DomainValidationOptions"][0]["ResourceRecord"]
    reasons = [e.get("ResourceStatusReason") for e in watch.all_events(cloudformation, "waits")]
    # AWS's words; a template takes no doubled braces.
    words = f"Name: {record['Name']},Type: CNAME,Value: {record['Value']}"
    assert "Content of DNS Record is: {" + words + "}" in reasons
    # The usual mistake: the provider appends the domain to a name given in full.
    moto_rules.PUBLIC_DNS.create(f"{record['Name']}example.org", record["Value"])
    stack = cloudformation.describe_stacks(StackName="waits")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_IN_PROGRESS"

    moto_rules.PUBLIC_DNS.create(record["Name"], record["Value"])

    stack = cloudformation.describe_stacks(StackName="waits")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stacks.outputs(stack) == {"Arn": arn}
    assert aws("acm").describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED"


def test_status_and_ns_while_the_certificate_waits_at_the_provider(aws, deploy, monkeypatch):
    """The stand-in user away: `up` waits (stopped here with Ctrl-C), status and ns explain."""
    overrides = external_dns_overrides("true")
    polls = []

    def ctrl_c_at_the_third_poll(watcher):
        polls.append(watcher.status)
        if len(polls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(external_dns, "show", SHOW_ONLY)
    monkeypatch.setattr(
        commands, "certificate_notice", lambda aws, domain, dns, confirm: ctrl_c_at_the_third_poll
    )
    monkeypatch.setattr(image, "Delivery", FirstImage)
    status, _, err = deploy("up", "--yes", *overrides)
    assert status == 130 and "Stopped watching." in err

    status, out, err = deploy("status")
    assert status == 0, err
    assert row(out, SITE.resources_stack) == "CREATE_IN_PROGRESS"
    assert row(out, "certificate") == (
        "PENDING_VALIDATION (waits for its validation record at your DNS provider: `make ns` "
        "prints it)"
    )
    status, out, _ = deploy("ns")
    assert status == 0
    lines = [line for line in out.splitlines() if line.startswith("  ")]
    assert lines == [validation_line(aws), *site_record_lines(aws)]


@pytest.mark.answers
def test_status_says_which_site_record_is_missing_or_answers_elsewhere(aws, deploy, monkeypatch):
    overrides = external_dns_overrides(RESOURCES_DEFAULTS["EnableHttps"])
    resources_only(deploy, monkeypatch, *overrides)
    target = load_balancer_name(aws)
    assert deploy("ns")[0] == 0  # the stand-in user creates what it prints
    status, out, _ = deploy("status")
    assert status == 0
    assert row(out, "dns apex") == "ok: answers as the load balancer"
    assert row(out, "dns www") == "ok: answers as the load balancer"

    # www never created; the apex still at the load balancer of the site it moves from.
    del moto_rules.PUBLIC_DNS.records[f"www.{SITE.domain}."]
    moto_rules.PUBLIC_DNS.create(SITE.domain, "old-site-1.eu-west-1.elb.amazonaws.com")
    (old,) = moto_rules.PUBLIC_DNS.resolve(SITE.domain).addresses

    status, out, _ = deploy("status")
    assert status == 0
    assert row(out, "dns apex") == f"mismatch: answers {old}, not {target} (cached? proxied?)"
    assert row(out, "dns www") == f"missing: point it at {target} (`make ns`)"
    status, out, _ = deploy("status", "--output", "json")
    assert [(c["name"], c["state"]) for c in json.loads(out)["dns"]] == [
        (SITE.domain, "mismatch"),
        (f"www.{SITE.domain}", "missing"),
    ]


def test_ns_says_to_ask_again_while_acm_has_not_named_the_validation_record(
    aws, deploy, monkeypatch
):
    resources_only(deploy, monkeypatch, *external_dns_overrides("true"))
    # The seconds after the request, before ACM names the record.
    monkeypatch.setattr(external_dns, "validation_records", lambda aws, arns: [])
    status, out, _ = deploy("ns")
    assert status == 0
    assert [line for line in out.splitlines() if line.startswith("  ")] == site_record_lines(aws)
    assert (
        "ACM has not named the certificate's validation record yet: run `make ns` again in a "
        "minute." in " ".join(out.split())
    )


@pytest.mark.answers
def test_destroy_of_an_external_dns_site_says_to_delete_the_records_at_the_provider(
    aws, deploy, monkeypatch
):
    overrides = external_dns_overrides(RESOURCES_DEFAULTS["EnableHttps"])
    resources_only(deploy, monkeypatch, *overrides)
    status, out, _ = deploy("destroy", "--yes")
    assert status == 0
    assert f"Delete {SITE.domain}'s records at your DNS provider too" in " ".join(out.split())


@pytest.mark.parametrize("command", ["plan", "up --yes"])
def test_a_hosted_zone_with_external_dns_is_refused_before_any_change(aws, deploy, command):
    zone = new_zone(aws)
    status, _, err = deploy(
        *command.split(),
        "--tag",
        V1,
        "--set",
        "DnsProvider=external",
        "--set",
        f"HostedZoneId={zone}",
    )
    assert status == 2
    assert err.splitlines() == [
        f"error: HostedZoneId {zone} is a Route 53 zone, which DnsProvider external does not use: "
        "pass --set HostedZoneId= too, or keep DnsProvider route53"
    ]
    assert stack_names(aws) == set()


# ---------------------------------------------------------------- day two: rollback, run, secrets
# The server runs a one-off task's command here, through container/entrypoint, with the task's
# secrets and environment, and keeps its output as the task's log stream (deploy/moto_tasks.py).

PROBE_VALUE = "s3cr3t-value-that-must-never-be-printed"


def given_on_stdin(monkeypatch, text):
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def stored_secrets(aws):
    resources = aws("cloudformation").describe_stacks(StackName=SITE.resources_stack)["Stacks"][0]
    (arn,) = [o["OutputValue"] for o in resources["Outputs"] if o["OutputKey"] == "SecretsArn"]
    return json.loads(aws("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def image_of(aws, task_definition):
    described = aws("ecs").describe_task_definition(taskDefinition=task_definition)
    return described["taskDefinition"]["containerDefinitions"][0]["image"].rpartition(":")[2]


def one_off_tasks(aws):
    """The tool's one-off tasks, running or stopped: ListTasks takes startedBy only alone, and
    then lists running tasks only (the stand-in's rule ecs.listtasks.filters)."""
    ecs = aws("ecs")
    arns = [
        arn
        for status in ("RUNNING", "STOPPED")
        for arn in ecs.list_tasks(cluster=SITE.slug, desiredStatus=status)["taskArns"]
    ]
    found = ecs.describe_tasks(cluster=SITE.slug, tasks=arns)["tasks"] if arns else []
    return [task for task in found if task.get("startedBy") == tasks.STARTED_BY]


# ---------------------------------------------------------------- rollback


def test_rollback_returns_to_the_image_before_and_says_when_there_is_none(aws, deploy, deployed):
    status, _, err = deploy("rollback", "--yes")
    assert status == 2
    assert err.splitlines() == [
        f"error: No earlier image to go back to: {SITE.service_stack} has run {V1} only"
    ]
    overrides, _ = deployed
    push_image(aws, V2)
    assert deploy("up", "--yes", "--tag", V2, *overrides)[0] == 0

    status, out, err = deploy("rollback", "--yes")

    assert status == 0, out + err
    assert f"Rolling back from {V2} to {V1}, the image that ran before it" in out
    assert f"{SITE.service_stack}: UPDATE_COMPLETE" in out
    assert parameter(aws, SITE.service_stack, "ImageTag") == V1
    # The image that ran before v1 is now v2: a second rollback undoes the first.
    assert deploy("rollback", "--yes")[0] == 0
    assert parameter(aws, SITE.service_stack, "ImageTag") == V2


def test_rollback_skips_a_deploy_that_was_rolled_back(aws, deploy, deployed):
    """v2's deployment is rolled back by its alarm; once v3 is out, the image before it is v1,
    not v2, whose task definition revision sits between them."""
    overrides, _ = deployed
    alarm = the_service(aws)["deploymentConfiguration"]["alarms"]["alarmNames"][0]
    cloudwatch = aws("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="5XX")
    push_image(aws, V2)
    assert deploy("up", "--yes", "--tag", V2, *overrides)[0] == 1  # rolled back
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="quiet again")
    push_image(aws, V3)
    assert deploy("up", "--yes", "--tag", V3, *overrides)[0] == 0

    status, out, err = deploy("rollback", "--yes")

    assert status == 0, out + err
    assert f"Rolling back from {V3} to {V1}, the image that ran before it" in out
    assert parameter(aws, SITE.service_stack, "ImageTag") == V1


@pytest.mark.answers
def test_rollback_across_a_cpu_switch_takes_the_earlier_images_cpu_back(aws, deploy, deployed):
    """The image before a switch is built for the CPU the tasks left: on the new one it would
    exit with `exec format error`."""
    overrides, _ = deployed
    switched = tag_for("v2", OTHER_ARCHITECTURE)
    push_image(aws, switched)
    settings = ["--set", f"CpuArchitecture={OTHER_ARCHITECTURE}"]
    assert deploy("up", "--yes", "--tag", switched, *overrides, *settings)[0] == 0

    status, out, err = deploy("rollback", "--yes")

    assert status == 0, out + err
    assert (
        f"Rolling back from {switched} to {V1}, the image that ran before it, and the tasks "
        f"back from {OTHER_ARCHITECTURE} to {ARCHITECTURE}, its CPU"
    ) in " ".join(out.split())
    assert parameter(aws, SITE.service_stack, "ImageTag") == V1
    assert running_on(aws)[0] == ARCHITECTURE


# ---------------------------------------------------------------- run


def test_run_prints_the_tasks_logs_exits_with_its_status_or_says_why_it_did_not_run(
    aws, deploy, deployed
):
    for args in (["run"], ["run", "--"]):
        status, _, err = deploy(*args)
        assert status == 2
        assert err.splitlines() == [
            "error: run needs a command after --, e.g. flask-fargate run -- flask --app app routes"
        ]
    assert one_off_tasks(aws) == []

    status, out, err = deploy("run", "--", "sh", "-c", "echo migrating; echo warned >&2; exit 3")
    assert status == 3, out + err
    assert out.splitlines()[-2:] == ["migrating", "warned"]
    assert err.splitlines() == [
        "error: `sh -c echo migrating; echo warned >&2; exit 3` exited with status 3"
    ]
    status, out, _ = deploy("run", "--", "sh", "-c", "echo done")
    assert status == 0
    assert out.splitlines()[-1] == "done"
    # Each as the service's tasks run: its task definition and network, the command overridden.
    service = the_service(aws)
    for task in one_off_tasks(aws):
        assert task["taskDefinitionArn"] == service["taskDefinition"]
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        assert (
            details["subnetId"] in service["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
        )

    aws("ecr").batch_delete_image(repositoryName=SITE.slug, imageIds=[{"imageTag": V1}])
    status, _, err = deploy("run", "--", "true")
    assert status == 1
    (line,) = err.splitlines()
    assert line.startswith("error: task ")
    assert " did not run: CannotPullContainerError: " in line


def the_service(aws):
    stack = aws("cloudformation").describe_stacks(StackName=SITE.service_stack)["Stacks"][0]
    name = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["ServiceName"]
    return aws("ecs").describe_services(cluster=SITE.slug, services=[name])["services"][0]


# ---------------------------------------------------------------- up --before


def test_up_before_runs_with_the_new_image_and_a_failure_rolls_nothing_out(aws, deploy, deployed):
    overrides, _ = deployed
    push_image(aws, V2)
    failing = "sh -c 'echo migrating; exit 4'"

    status, out, err = deploy("up", "--yes", "--tag", V2, "--before", failing, *overrides)

    assert status == 1
    assert "migrating" in out.splitlines()
    assert err.splitlines() == [
        f"error: --before `{failing}` exited with status 4: nothing rolled out, "
        f"{SITE.service_stack} runs the image it ran"
    ]
    assert parameter(aws, SITE.service_stack, "ImageTag") == V1
    (task,) = one_off_tasks(aws)
    assert image_of(aws, task["taskDefinitionArn"]) == V2
    family = f"{SITE.service_stack}-before"
    active = aws("ecs").list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
    assert active == []  # registered for the task, deregistered after it

    status, out, err = deploy("up", "--yes", "--tag", V2, "--before", "echo migrated", *overrides)
    assert status == 0, out + err
    assert "migrated" in out.splitlines()
    assert parameter(aws, SITE.service_stack, "ImageTag") == V2


@pytest.mark.answers
def test_up_before_runs_on_the_cpu_the_deploy_moves_to(aws, deploy, deployed):
    """The new image is built for that CPU, not for the one the service runs on until then."""
    overrides, _ = deployed
    switched = tag_for("v2", OTHER_ARCHITECTURE)
    push_image(aws, switched)
    settings = ["--set", f"CpuArchitecture={OTHER_ARCHITECTURE}", "--before", "echo migrated"]

    status, out, err = deploy("up", "--yes", "--tag", switched, *overrides, *settings)

    assert status == 0, out + err
    (task,) = one_off_tasks(aws)
    ecs = aws("ecs")
    ran = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
    assert image_of(aws, task["taskDefinitionArn"]) == switched
    assert ran["runtimePlatform"]["cpuArchitecture"] == OTHER_ARCHITECTURE


def test_up_recreating_a_failed_service_stack_skips_before_and_says_so(aws, deploy, deployed):
    overrides, _ = deployed
    backend = cloudformation_backends[ACCOUNT][SITE.region]
    stack = next(s for s in backend.stacks.values() if s.name == SITE.service_stack)
    stack.status = "ROLLBACK_COMPLETE"  # as a failed creation leaves it

    status, out, err = deploy(
        "up", "--yes", "--tag", V1, "--recreate", "--before", "echo migrated", *overrides
    )

    assert status == 0, out + err
    assert (
        "--before: not run, there is no service to copy yet (a first deploy, or one made "
        "again); once the site is up: flask-fargate run -- echo migrated"
    ) in " ".join(out.split())
    assert "migrated" not in out.splitlines()
    assert f"{SITE.service_stack}: CREATE_COMPLETE" in out


def test_one_off_tasks_run_on_demand_when_the_service_runs_on_spot(aws, deploy, deployed):
    """Fargate Spot may stop a task at two minutes' notice: no place for a migration."""
    overrides, _ = deployed
    assert deploy("up", "--yes", "--tag", V1, "--set", "Capacity=spot", *overrides)[0] == 0
    assert running_on(aws)[1] == STRATEGIES["spot"]

    assert deploy("run", "--", "true")[0] == 0

    (task,) = one_off_tasks(aws)
    assert task["capacityProviderName"] == "FARGATE"


def test_the_before_command_comes_from_pyproject_unless_given(tmp_path, monkeypatch):
    table = '[tool.flask-fargate]\ndomain = "a.example"\nslug = "a-example"\nregion = "eu-west-1"\n'
    (tmp_path / "pyproject.toml").write_text(f'{table}before = "flask --app app db upgrade"\n')
    monkeypatch.chdir(tmp_path)

    assert tasks.before_command(None) == ["flask", "--app", "app", "db", "upgrade"]
    assert tasks.before_command("") == []
    assert tasks.before_command("echo 'a b'") == ["echo", "a b"]


# ---------------------------------------------------------------- secrets


def test_secrets_round_trip_reach_the_tasks_and_are_never_shown(aws, deploy, deployed, monkeypatch):
    overrides, out = deployed
    generated = stored_secrets(aws)["SECRET_KEY"]  # by the first deploy
    assert len(generated) == 64
    stack = aws("cloudformation").describe_stacks(StackName=SITE.service_stack)["Stacks"][0]
    assert generated not in json.dumps(stack, default=str)  # the ARN and a version id only
    printed = [out]

    def tool(*args, stdin=""):
        given_on_stdin(monkeypatch, stdin)
        status, out, err = deploy(*args)
        printed.append(out + err)
        return status, out, err

    # Bad input: one line, exit 2, nothing stored.
    for name, stdin, message in (
        ("api_key", PROBE_VALUE, "'api_key': a secret's name is upper case letters, digits and"),
        ("FLASK_API_KEY", PROBE_VALUE, "FLASK_API_KEY: give the name without FLASK_"),
        ("API_KEY", "\n", "API_KEY: empty value, nothing changed"),
    ):
        status, _, err = tool("secret", "set", name, stdin=stdin)
        assert status == 2
        (line,) = err.splitlines()
        assert line.startswith(f"error: {message}")
    assert list(stored_secrets(aws)) == ["SECRET_KEY"]

    status, out, _ = tool("secret", "set", "API_KEY", stdin=PROBE_VALUE + "\n")
    assert status == 0
    assert "API_KEY set: the app reads app.config['API_KEY'] (FLASK_API_KEY)" in out
    assert stored_secrets(aws)["API_KEY"] == PROBE_VALUE
    status, out, _ = tool("secret", "list")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["API_KEY", "SECRET_KEY"]

    # The next deploy rolls the tasks onto the new version, and a task gets the value as
    # FLASK_API_KEY through container/entrypoint (compared by hash: no value on a command line).
    status, out, _ = tool("up", "--yes", "--tag", V1, *overrides)
    assert status == 0
    assert f"{SITE.service_stack}: UPDATE_COMPLETE" in out
    digest = hashlib.sha256(PROBE_VALUE.encode()).hexdigest()
    check = (
        "import hashlib, os, sys; "
        f"sys.exit(hashlib.sha256(os.environ['FLASK_API_KEY'].encode()).hexdigest() != '{digest}')"
    )
    assert tool("run", "--", "python3", "-c", check)[0] == 0
    # A value set since reaches no task before the next deploy or --restart: the task definition
    # reads the version it was deployed with, as the service's own tasks do.
    assert tool("secret", "set", "API_KEY", stdin="changed-but-not-deployed")[0] == 0
    assert tool("run", "--", "python3", "-c", check)[0] == 0

    status, out, _ = tool("secret", "rm", "API_KEY", "--restart", "--yes")
    assert status == 0
    assert f"{SITE.service_stack}: UPDATE_COMPLETE" in out  # restarted without a deploy
    assert "API_KEY" not in stored_secrets(aws)
    assert tool("run", "--", "python3", "-c", check)[0] != 0
    assert all(PROBE_VALUE not in text and generated not in text for text in printed)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("A" * 121, f"'{'A' * 40}': a secret's name is upper case letters, digits and single _"),
        ("DATABASE__URL", "'DATABASE__URL': a secret's name is upper case letters, digits and"),
        ("DEBUG", "DEBUG: FLASK_DEBUG is an option of the `flask` command itself"),
        ("APP", "APP: FLASK_APP is an option of the `flask` command itself"),
        ("RUN_PORT", "RUN_PORT: FLASK_RUN_PORT is an option of the `flask` command itself"),
    ],
)
def test_a_secret_name_the_tag_or_flask_cannot_take_changes_nothing(
    aws, deploy, monkeypatch, name, message
):
    resources_only(deploy, monkeypatch, *site_overrides(aws))
    before = stored_secrets(aws)

    status, _, err = deploy("secret", "set", name)

    assert status == 2
    (line,) = err.splitlines()
    assert line.startswith(f"error: {message}")
    assert stored_secrets(aws) == before


def test_removing_secret_key_needs_yes_and_aws_tags_do_not_count(aws, deploy, monkeypatch):
    resources_only(deploy, monkeypatch, *site_overrides(aws))
    status, _, err = deploy("secret", "rm", "SECRET_KEY")
    assert status == 2
    assert err.splitlines() == [
        "error: SECRET_KEY signs the app's sessions: removing it signs everyone out, and the app "
        "has no key until `secret set SECRET_KEY`; pass --yes to remove it all the same"
    ]
    assert "SECRET_KEY" in stored_secrets(aws)

    # CloudFormation's own aws:cloudformation:* tags are not among the secret's 50.
    arn = aws("cloudformation").describe_stacks(StackName=SITE.resources_stack)["Stacks"][0]
    (arn,) = [o["OutputValue"] for o in arn["Outputs"] if o["OutputKey"] == "SecretsArn"]
    keys = [t["Key"] for t in aws("secretsmanager").describe_secret(SecretId=arn)["Tags"]]
    counted = [key for key in keys if not key.startswith("aws:")]
    assert len(counted) < len(keys)
    others = [{"Key": f"team{n}", "Value": "x"} for n in range(49 - len(counted))]
    aws("secretsmanager").tag_resource(SecretId=arn, Tags=others)  # 49 of them count
    given_on_stdin(monkeypatch, "value")
    assert deploy("secret", "set", "THE_FIFTIETH")[0] == 0
    given_on_stdin(monkeypatch, "value")
    status, _, err = deploy("secret", "set", "ONE_TOO_MANY")
    assert status == 2
    assert "the secret holds 50 tags, AWS's most" in err


@pytest.mark.skipif(not OWN_ZONE or bool(HOST), reason="this site's stack makes no zone of its own")
def test_a_subdomain_is_delegated_from_its_parents_zone_in_the_account_until_destroy(
    aws, deploy, monkeypatch
):
    """`up` shows the NS record and creates it in the parent's Route 53 zone (yes under --yes);
    `destroy` removes it with the zone it delegated to (Route 53 Developer Guide, "Routing
    traffic for subdomains")."""
    route53 = aws("route53")
    parent = route53.create_hosted_zone(Name="example.org", CallerReference="parent")
    parent_id = parent["HostedZone"]["Id"].split("/")[-1]
    overrides = [*site_overrides(aws), "--set", "DomainName=shop.example.org"]

    def delegations():
        found = route53.list_resource_record_sets(HostedZoneId=parent_id)["ResourceRecordSets"]
        return [r for r in found if r["Name"] == "shop.example.org." and r["Type"] == "NS"]

    with monkeypatch.context() as patch:
        patch.setattr(image, "Delivery", FirstImage)
        status, out, err = deploy("up", "--yes", *overrides)
    assert status == 0, out + err
    (own,) = [
        zone["Id"]
        for zone in route53.list_hosted_zones()["HostedZones"]
        if zone["Name"].rstrip(".") == "shop.example.org"
    ]
    servers = route53.get_hosted_zone(Id=own)["DelegationSet"]["NameServers"]
    assert delegations() == [
        {
            "Name": "shop.example.org.",
            "Type": "NS",
            "TTL": 172800,
            "ResourceRecords": [{"Value": f"{server}."} for server in servers],
        }
    ]
    assert (
        f"this NS record in the hosted zone of example.org ({parent_id}) delegates "
        "shop.example.org to its new zone:" in out
    )
    assert f"shop.example.org. 172800 NS {' '.join(f'{s}.' for s in servers)}" in out

    status, out, err = deploy("destroy", "--yes")
    assert status == 0, out + err
    assert delegations() == []
    assert f"Removed shop.example.org NS from the hosted zone of example.org ({parent_id})" in out


def test_waiting_on_the_certificate_a_subdomain_is_offered_its_delegation(aws, capsys):
    """AWS validates the certificate only once the parent delegates: the offer comes then."""
    route53 = aws("route53")
    parent = route53.create_hosted_zone(Name="example.org", CallerReference="parent")
    parent_id = parent["HostedZone"]["Id"].split("/")[-1]
    zone = {
        "HostedZone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": "a.example.org"}}
    }
    stack_id = aws("cloudformation").create_stack(
        StackName="zone-only", TemplateBody=json.dumps({"Resources": zone})
    )["StackId"]
    waiting = types.SimpleNamespace(
        stack_id=stack_id,
        in_progress={"Certificate": ("AWS::CertificateManager::Certificate", datetime.now(UTC))},
    )
    asked = []

    def yes(change):
        asked.append(change.name)
        return True

    commands.certificate_notice(session(aws), "a.example.org", "route53", yes)(waiting)

    assert asked == [f"the hosted zone of example.org ({parent_id})"]
    found = route53.list_resource_record_sets(HostedZoneId=parent_id)["ResourceRecordSets"]
    assert [r["Type"] for r in found if r["Name"] == "a.example.org."] == ["NS"]
    assert "The stack carries on once that answers" in capsys.readouterr().out
