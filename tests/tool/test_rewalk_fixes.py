"""What a re-walk by new users found in the commands: destroy's words for a joining site's records
and its printed AWS CLI commands, plans that differ from what `up` does (a joining site's
NatGateways, --tag, the CPU, a rollout in progress, the GitHub ids announced as the user's), `ns`
for a subdomain, and the host's counts and grammar."""

import json
import re

import pytest
from site_under_test import FOLDER, SITE, TEMPLATE

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_day_two import interrupted_rollout
from test_deploy import (
    ARCHITECTURE,
    EXTERNAL_DNS,
    GITHUB,
    HOST,
    OTHER_ARCHITECTURE,
    OWN_ZONE,
    V1,
    V2,
    aws,
    deploy,
    deployed,
    endpoint,
    external_dns_overrides,
    fresh_account,
    push_image,
    resources_only,
    site_overrides,
    stack_names,
    tag_for,
)

from flask_fargate import external_dns, image

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account"]
pytestmark = [
    pytest.mark.filterwarnings("ignore:Tried to parse AWS::"),
    pytest.mark.filterwarnings("ignore:Exception.STSClientError. with code AccessDenied"),
]
joins = pytest.mark.skipif(not HOST, reason="this site has a load balancer of its own")
needs_own_zone = pytest.mark.skipif(
    not OWN_ZONE or bool(HOST), reason="this site's stack makes no zone of its own"
)


def words(out):
    return " ".join(out.split())


# ---------------------------------------------------------------- destroy


@pytest.mark.answers
@joins
def test_destroy_of_a_joining_site_says_its_records_point_at_the_hosts_load_balancer(
    aws, deploy, monkeypatch
):
    """The host's load balancer stays, and answers the name with its listener's default action."""
    resources_only(deploy, monkeypatch, *site_overrides(aws), *external_dns_overrides("true"))

    status, out, err = deploy("destroy", "--yes")

    assert status == 0, out + err
    assert (
        f"Delete {SITE.domain}'s records at your DNS provider too: the site's, which point at "
        f"{HOST}'s load balancer: it keeps running and answers them over HTTPS with {HOST}'s "
        "certificate, which browsers refuse for this name, and the certificate's validation "
        "CNAME."
    ) in words(out)
    assert "gone" not in out


@pytest.mark.answers
def test_destroy_names_no_validation_record_for_a_site_without_a_certificate(
    aws, deploy, monkeypatch
):
    resources_only(deploy, monkeypatch, *site_overrides(aws), *external_dns_overrides("false"))

    status, out, err = deploy("destroy", "--yes")

    assert status == 0, out + err
    assert f"Delete {SITE.domain}'s records at your DNS provider too: the site's" in words(out)
    assert "validation" not in out
    if HOST:  # without HTTPS, the host's load balancer answers the name with its 404
        assert f"{HOST}'s load balancer: it keeps running and answers them with its 404" in words(
            out
        )


def use_profile(tmp_path, name):
    """A profile in the config and credentials files the fresh account's environment names."""
    (tmp_path / "no-config").write_text(f"[profile {name}]\nregion = {SITE.region}\n")
    (tmp_path / "no-credentials").write_text(
        f"[{name}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )


@pytest.mark.parametrize("profile", [None, "ops"])
def test_destroy_prints_aws_cli_commands_for_the_sites_region(
    aws, deploy, deployed, endpoint, tmp_path, profile
):
    """The AWS CLI takes its own configured region (and profile) unless told: the commands
    printed name the ones the tool worked in."""
    given = []
    if profile:
        use_profile(tmp_path, profile)
        given = ["--profile", profile]

    status, out, err = deploy(*given, "destroy", "--yes")

    assert status == 0, out + err
    where = f"--region {SITE.region}{f' --profile {profile}' if profile else ''}"
    where += f" --endpoint-url {endpoint}"
    commands = re.findall(r"`(aws [^`]+)`", out)
    secret = [c for c in commands if " delete-secret " in c]
    assert secret and all(c.endswith(where) for c in secret), commands
    restore = [c for c in commands if " restore-secret " in c]
    assert restore and all(c.endswith(where) for c in restore), commands
    if not HOST:  # the access-log bucket is a load balancer owner's
        (bucket,) = [c for c in commands if c.startswith("aws s3 rb ")]
        assert bucket.endswith(f"--force {where}")


# ---------------------------------------------------------------- plans as `up` does them


@pytest.mark.answers
@joins
@pytest.mark.parametrize("command", ["plan", "up --yes"])
def test_nat_gateways_of_a_joining_site_are_refused_in_one_line(aws, deploy, command):
    status, out, err = deploy(*command.split(), "--set", "NatGateways=1", *site_overrides(aws))

    assert status == 2, out + err
    assert err.splitlines() == [
        f"error: --set NatGateways=1: a site joining {HOST} has no NAT gateway of its own; its "
        f"tasks run where {HOST}'s do, as {HOST}'s NatGateways decides"
    ]
    assert stack_names(aws) == set()


def test_plan_tag_of_no_image_says_so_whatever_cpu_its_name_says(aws, deploy, deployed):
    tag = tag_for("nosuchtag", OTHER_ARCHITECTURE)

    status, out, err = deploy("plan", "--tag", tag, *deployed[0])

    assert status == 2, out + err
    (line,) = err.splitlines()
    assert line.startswith(f"error: --tag {tag}: no such image in the ECR repository ")


def test_plan_tag_before_the_first_deploy_is_refused_as_up_refuses_it(aws, deploy):
    tag = tag_for("foo")
    refusals = [
        deploy(*command.split(), "--tag", tag, *site_overrides(aws))
        for command in ("plan", "up --yes")
    ]

    (plan_status, _, plan_err), (up_status, _, up_err) = refusals
    assert (plan_status, up_status) == (2, 2)
    assert plan_err == up_err
    assert f"--tag {tag}: {SITE.resources_stack} does not exist yet" in plan_err
    assert stack_names(aws) == set()


def test_plan_for_the_other_cpu_shows_the_image_up_would_build_for_it(aws, deploy, deployed):
    """`up` builds the working tree's image for the new CPU; the deployed one runs on its own."""
    new = image.image_tag(OTHER_ARCHITECTURE, FOLDER)

    status, out, err = deploy(
        "plan", "--set", f"CpuArchitecture={OTHER_ARCHITECTURE}", *deployed[0]
    )

    assert status == 0, out + err
    assert (
        f"(planned with image {new}, the working tree's, which `up` would build (the deployed "
        f"{V1} is built for {ARCHITECTURE}, and the tasks move to {OTHER_ARCHITECTURE}); "
        "`plan --tag TAG` plans another)"
    ) in words(out)
    assert f"parameter ImageTag: {V1} -> {new}" in out
    assert "deployed image" not in out
    # With --tag, as `up --tag` does: an image for the other CPU is refused.
    status, _, err = deploy(
        "plan", "--tag", V1, "--set", f"CpuArchitecture={OTHER_ARCHITECTURE}", *deployed[0]
    )
    assert status == 2
    assert err.startswith(f"error: --tag {V1}: an image for {ARCHITECTURE}")


def test_plan_says_a_rollout_an_interrupted_deploy_left_running(aws, deploy, deployed, monkeypatch):
    overrides, _ = deployed
    interrupted_rollout(aws, deploy, monkeypatch, overrides, V2)

    status, out, err = deploy("plan", *overrides)

    assert status == 0, out + err
    assert (
        f"{SITE.service_stack}: ECS is still rolling out a deployment an earlier deploy started "
        "(`make status` shows where it is); `up` follows it to its end first"
    ) in words(out)
    # Once it has ended, nothing is said of it.
    assert deploy("up", "--yes", "--tag", V2, *overrides)[0] == 0
    status, out, err = deploy("plan", *overrides)
    assert status == 0, out + err
    assert "still rolling out" not in out


def test_plan_and_up_announce_no_github_ids_the_tool_set_itself(aws, deploy, monkeypatch):
    """The ids come from GitHub (github.py), not from the user: keeping them is no news."""
    resources_only(deploy, monkeypatch, *GITHUB, *site_overrides(aws))

    push_image(aws, V1)
    for command in ("plan", "up --yes --tag " + V1):
        status, out, err = deploy(*command.split(), *site_overrides(aws))

        assert status == 0, out + err
        assert "keeping GithubRepo=acme/site from the stack" in out  # the user's own --set
        assert "keeping GithubOwnerId" not in out
        assert "keeping GithubRepoId" not in out


# ---------------------------------------------------------------- ns


SUB = "shop.example.org"


def own_zone_servers(aws, name):
    route53 = aws("route53")
    zones = route53.list_hosted_zones()["HostedZones"]
    (zone,) = [z["Id"] for z in zones if z["Name"].rstrip(".") == name]
    return route53.get_hosted_zone(Id=zone)["DelegationSet"]["NameServers"]


def delegate(aws, parent, name, servers):
    record = {
        "Name": name,
        "Type": "NS",
        "TTL": 172800,
        "ResourceRecords": [{"Value": server} for server in servers],
    }
    aws("route53").change_resource_record_sets(
        HostedZoneId=parent,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
    )


@needs_own_zone
def test_ns_for_a_subdomain_names_its_parents_zone_and_sees_a_delegation_in_place(
    aws, deploy, monkeypatch
):
    """Route 53 Developer Guide, "Routing traffic for subdomains": an NS record in the parent's
    zone delegates a subdomain; the registrar serves the whole registered domain."""
    resources_only(deploy, monkeypatch, *site_overrides(aws), "--set", f"DomainName={SUB}")
    parent = aws("route53").create_hosted_zone(Name="example.org", CallerReference="parent")
    parent_id = parent["HostedZone"]["Id"].split("/")[-1]
    servers = own_zone_servers(aws, SUB)

    status, out, err = deploy("ns")

    assert status == 0, out + err
    said = words(out)
    assert "registrar" not in said.replace("not at a registrar", "")
    assert (
        f"{SUB} is a subdomain of example.org, whose zone is in this account: add exactly these "
        f"to the hosted zone of example.org ({parent_id}) as an NS record named {SUB} "
        "(TTL 172800), which `make deploy` offers to do; not at a registrar."
    ) in said

    delegate(aws, parent_id, f"{SUB}.", servers)
    status, out, err = deploy("ns")

    assert status == 0, out + err
    assert (
        f"{SUB} is delegated to them already: the hosted zone of example.org ({parent_id}) holds "
        f"the NS record named {SUB} with exactly these."
    ) in words(out)


@needs_own_zone
@pytest.mark.parametrize(
    ("domain", "first"),
    [
        ("example.org", "Set exactly these, at the registrar of example.org."),
        ("shop.example.org", "Set exactly these, as an NS record named shop.example.org in its "),
    ],
)
def test_ns_without_the_parents_zone_names_the_registrar_only_for_a_registered_name(
    aws, deploy, monkeypatch, domain, first
):
    """Two labels are a registered domain; more may be a subdomain (or example.co.uk): the NS
    record in the parent's zone comes first, the registrar only for a name registered itself."""
    resources_only(deploy, monkeypatch, *site_overrides(aws), "--set", f"DomainName={domain}")

    status, out, err = deploy("ns")

    assert status == 0, out + err
    assert first in words(out)


# ---------------------------------------------------------------- the host's words


@pytest.mark.answers
@joins
def test_a_joined_site_moving_listener_counts_the_rules_the_load_balancer_will_hold(
    aws, deploy, deployed
):
    """Its rule's replacement takes its rule's place: as many rules as now."""
    elbv2 = aws("elbv2")
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    rules = [
        rule
        for listener in listeners
        for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
        if not rule["IsDefault"]
    ]

    status, out, err = deploy("plan", "--set", "EnableHttps=false", *deployed[0])

    assert status == 0, out + err
    assert f"(rules {len(rules)} of 100, " in out


def joined_site(aws, slug):
    """A stack of another site joined to this one: it imports this site's VpcId, as a joining
    site's resources stack does."""
    template = {
        "Resources": {
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"DisplayName": {"Fn::ImportValue": f"{SITE.resources_stack}-VpcId"}},
            }
        }
    }
    aws("cloudformation").create_stack(
        StackName=f"{slug}-resources", TemplateBody=json.dumps(template)
    )


@pytest.mark.skipif(bool(HOST), reason="this site joins a host, and hosts none")
def test_a_hosts_refusals_speak_of_one_joined_site_in_the_singular(aws, deploy, deployed):
    overrides, _ = deployed
    joined_site(aws, "blog-example-org")

    status, _, err = deploy("plan", "--set", "NatGateways=2", *overrides)
    assert (status, err.splitlines()) == (
        2,
        [
            "error: NatGateways 2: blog-example-org runs on this site's network and load "
            "balancer as it is now; move it out first (the tool's docs/sharing-a-load-balancer.md)"
        ],
    )
    status, _, err = deploy("destroy", "--yes")
    assert (status, err.splitlines()) == (
        2,
        [
            f"error: blog-example-org runs on {SITE.slug}'s network and load balancer: destroy it "
            "first (CloudFormation refuses to delete an export another stack imports)"
        ],
    )
    joined_site(aws, "docs-example-io")
    status, _, err = deploy("destroy", "--yes")
    assert err.startswith("error: blog-example-org, docs-example-io run on ")
    assert "destroy them first" in err


def test_the_site_templates_cite_only_tool_files_that_exist():
    """A comment's pointer into the tool names a file of this repository (src/flask_fargate/)."""
    cited = {
        path
        for template in (FOLDER / "cloudformation").glob("*.yaml")
        for path in re.findall(r"[\w./-]+/\w+\.py", template.read_text())
    }
    assert cited, "no pointer into the tool found: is the pattern still right?"
    assert {path for path in cited if not (TEMPLATE / path).is_file()} == set()


# ---------------------------------------------------------------- the third walk


@pytest.mark.answers
@pytest.mark.skipif(not EXTERNAL_DNS, reason="this site's DNS is in Route 53")
def test_up_shows_only_the_provider_records_not_in_place(aws, deploy, deployed):
    """The first `up` shows the records to create (the stand-in provider creates them, as a
    user would); a later one says they answer, and CI's --service-only leaves them unsaid."""
    overrides, first = deployed
    assert "create the site's records" in words(first)

    status, out, err = deploy("up", "--yes", "--tag", V1, *overrides)
    assert status == 0, out + err
    assert "At the DNS provider" not in out
    assert f"{SITE.domain}'s records at the DNS provider answer as the load balancer." in words(out)

    status, out, err = deploy("up", "--yes", "--service-only", "--tag", V1)
    assert status == 0, out + err
    assert "DNS provider" not in out


def test_on_a_stand_in_a_missing_image_is_put_there_by_rehearse(aws, deploy, monkeypatch, endpoint):
    """A stand-in has no registry to push to: `image` cannot put one there, `rehearse` can."""
    resources_only(deploy, monkeypatch, *site_overrides(aws))

    status, _, err = deploy("up", "--yes", "--tag", "v9", *site_overrides(aws))

    assert status == 2
    assert (
        f"`flask-fargate rehearse --endpoint-url {endpoint} --tag v9` puts one into the stand-in"
    ) in words(err)


@pytest.mark.skipif(not GITHUB, reason="this site deploys from no GitHub repository")
def test_destroy_says_whom_the_kept_github_provider_serves_and_how_it_goes(
    aws, deploy, monkeypatch
):
    resources_only(deploy, monkeypatch, *GITHUB, *site_overrides(aws))

    status, out, err = deploy("destroy", "--yes")

    assert status == 0, out + err
    said = words(out)
    assert "Kept on purpose: GithubOidcProvider (AWS::IAM::OIDCProvider)" in said
    assert "the deploy role of every site in this account that deploys from GitHub" in said
    assert "`aws iam delete-open-id-connect-provider --open-id-connect-provider-arn arn:" in said


@pytest.mark.answers
@pytest.mark.skipif(not EXTERNAL_DNS, reason="this site's DNS is in Route 53")
def test_up_where_public_dns_cannot_be_asked_names_no_record_to_create(
    aws, deploy, deployed, monkeypatch
):
    """As `up` against a served stand-in from another process (this machine's resolver knows
    nothing of its load balancer): records it cannot check are not said to be missing."""
    overrides, _ = deployed

    def unanswered(name):
        raise OSError(f"{name} does not answer yet")

    monkeypatch.setattr(external_dns, "resolve", unanswered)
    status, out, err = deploy("up", "--yes", "--tag", V1, *overrides)

    assert status == 0, out + err
    assert "At the DNS provider" not in out
    assert f"{SITE.domain}'s records at the DNS provider are not checked from here (" in words(out)
    assert "`make ns` lists them." in words(out)
