"""What a review against AWS's and GitHub's docs found: CI's `up --service-only` reached Route 53,
which its deploy role may not read; and the deploy role trusted the GitHub repository's name as
typed, where GitHub's tokens carry it as GitHub spells it (IAM compares case-sensitively)."""

import os

import pytest
from botocore.exceptions import ClientError
from cfnlint.decode import cfn_yaml
from site_under_test import FOLDER, SITE, TEMPLATE

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    GITHUB,
    GITHUB_ID_SOURCES,
    GITHUB_IDS,
    HOST,
    OWN_ZONE,
    V1,
    V2,
    FirstImage,
    assume_deploy_role,
    aws,
    calls_recorded,
    deploy,
    deploy_role_actions,
    deployed,
    endpoint,
    fresh_account,
    given_on_stdin,
    one_off_tasks,
    parameter,
    push_image,
    resources_only,
    site_overrides,
    stack_names,
)

from flask_fargate import dns, github, image

__all__ = ["aws", "deploy", "deployed", "endpoint", "fresh_account"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")
needs_own_zone = pytest.mark.skipif(
    not OWN_ZONE or bool(HOST), reason="this site's stack makes no zone of its own"
)


@needs_own_zone
def test_ci_deploys_a_site_with_its_own_zone_with_only_what_its_role_allows(
    aws, deploy, deployed, monkeypatch
):
    """`up --service-only --yes` as the deploy workflow runs it: no Route 53 call (the deploy
    role has none; ListHostedZones takes only "*" as resource), nothing to offer about the zone."""
    push_image(aws, V2)
    called = calls_recorded(monkeypatch)

    status, out, err = deploy("up", "--yes", "--service-only", "--tag", V2)

    assert status == 0, out + err
    assert sorted(a for a in called if a.lower() not in deploy_role_actions()) == []
    assert "Name servers" not in out


@needs_own_zone
def test_up_where_hosted_zones_may_not_be_listed_says_where_the_name_servers_go(
    aws, deploy, monkeypatch
):
    """Credentials without route53:ListHostedZones: no offer of the parent's NS record, the
    delegation in words instead, and the deploy succeeds."""
    overrides = site_overrides(aws)
    calls_recorded(monkeypatch, refused={"route53:ListHostedZones"})
    monkeypatch.setattr(image, "Delivery", FirstImage)

    status, out, err = deploy("up", "--yes", *overrides)

    assert status == 0, out + err
    assert (
        f"Not looking for {SITE.domain}'s parent zone in this account: these credentials may "
        "not list hosted zones (route53:ListHostedZones)."
    ) in out
    assert f": set them {dns.delegation(SITE.domain)}" in " ".join(out.split())


def as_github(tmp_path, monkeypatch, full_name, template='{"use_default": true}'):
    """A `gh` on PATH, outside GitHub Actions, answering as GitHub's REST API does: the
    repository's full_name as GitHub spells it (whatever case it was asked in), its ids, and its
    OIDC subject template."""
    monkeypatch.setattr(github, "ID_SOURCES", GITHUB_ID_SOURCES)
    for key in ("GITHUB_REPOSITORY", "GITHUB_REPOSITORY_ID", "GITHUB_REPOSITORY_OWNER_ID"):
        monkeypatch.delenv(key, raising=False)
    repository = f'{{"name": "{full_name}", "owner": 123456, "repo": 456789}}'
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(
        "#!/bin/sh\n"
        'case "$2" in\n'
        f"  */actions/oidc/customization/sub) echo '{template}' ;;\n"
        f"  repos/*) echo '{repository}' ;;\n"
        "  *) exit 1 ;;\n"
        "esac\n"
    )
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


@pytest.mark.parametrize(
    ("subject", "sent"),
    [
        ("ids", "repo:Acme@123456/Site@456789:ref:refs/heads/main"),
        ("names", "repo:Acme/Site:ref:refs/heads/main"),
    ],
)
def test_the_deploy_role_trusts_the_repository_as_github_spells_it(
    aws, deploy, tmp_path, monkeypatch, subject, sent
):
    """GithubRepo acme/site for GitHub's Acme/Site: IAM's StringEquals is case-sensitive, so the
    role trusts the subject GitHub's tokens carry, and not the name as typed."""
    as_github(tmp_path, monkeypatch, "Acme/Site")
    given = [*GITHUB, *site_overrides(aws), "--set", f"GithubSubject={subject}"]

    out = resources_only(deploy, monkeypatch, *given)

    assert "GithubRepo Acme/Site: acme/site as GitHub spells it, and so its tokens (from gh)" in out
    assert parameter(aws, SITE.resources_stack, "GithubRepo") == "Acme/Site"
    assert assume_deploy_role(aws, sent)
    with pytest.raises(ClientError, match="Not authorized"):
        assume_deploy_role(aws, sent.replace("Acme", "acme").replace("Site", "site"))


def test_in_github_actions_the_repository_is_spelled_as_the_job_names_it(aws, deploy, monkeypatch):
    monkeypatch.setattr(github.shutil, "which", lambda name: None)
    monkeypatch.setattr(github, "ID_SOURCES", GITHUB_ID_SOURCES)
    monkeypatch.setenv("GITHUB_REPOSITORY", "Acme/Site")
    monkeypatch.setenv("GITHUB_REPOSITORY_OWNER_ID", "11")
    monkeypatch.setenv("GITHUB_REPOSITORY_ID", "22")

    resources_only(deploy, monkeypatch, *GITHUB, *site_overrides(aws))

    assert parameter(aws, SITE.resources_stack, "GithubRepo") == "Acme/Site"
    assert assume_deploy_role(aws, "repo:Acme@11/Site@22:ref:refs/heads/main")


def test_a_role_trusting_a_misspelled_name_is_mended_by_set_keeping_its_ids(
    aws, deploy, monkeypatch
):
    """What ci-github.md says to do for a role made before the tool asked GitHub, without gh:
    owner/name in another case is the same repository (GitHub's names are case-insensitive)."""
    monkeypatch.setattr(github.shutil, "which", lambda name: None)
    monkeypatch.setattr(github, "ID_SOURCES", GITHUB_ID_SOURCES)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    resources_only(deploy, monkeypatch, *GITHUB, *GITHUB_IDS, *site_overrides(aws))
    push_image(aws, V1)

    mended = ["--set", "GithubRepo=Acme/Site", *site_overrides(aws)]
    status, out, err = deploy("up", "--yes", "--tag", V1, *mended)

    assert status == 0, out + err
    # The trust's subject is made of these (the stand-in keeps a role's first trust policy).
    assert parameter(aws, SITE.resources_stack, "GithubRepo") == "Acme/Site"
    assert parameter(aws, SITE.resources_stack, "GithubOwnerId") == "123456"
    assert parameter(aws, SITE.resources_stack, "GithubRepoId") == "456789"


@pytest.mark.parametrize("command", ["plan", "up --yes"])
def test_a_repository_with_a_custom_subject_template_is_refused_before_any_change(
    aws, deploy, tmp_path, monkeypatch, command
):
    """GitHub's tokens for it carry the subject its template builds, never the default one the
    deploy role trusts: a role made anyway would refuse every run of the workflow."""
    template = '{"use_default": false, "include_claim_keys": ["repo", "context"]}'
    as_github(tmp_path, monkeypatch, "Acme/Site", template)

    status, out, err = deploy(*command.split(), "--tag", V1, *GITHUB, *site_overrides(aws))

    assert status == 2, out + err
    assert err.splitlines() == [
        "error: GithubRepo Acme/Site: its OIDC subject template is customised (use_default "
        "false, include_claim_keys repo, context), so its tokens never carry "
        "repo:Acme@123456/Site@456789:ref:refs/heads/main, the only subject the deploy role "
        "trusts: put the repository back on the default (`gh api -X PUT "
        "repos/Acme/Site/actions/oidc/customization/sub -F use_default=true`), or edit the "
        "DeployRole's trust in cloudformation/resources.yaml to match that template"
    ]
    assert stack_names(aws) == set()


def test_rollback_run_and_secret_need_what_the_deploy_role_lacks_as_security_md_says(
    aws, deploy, deployed, monkeypatch
):
    """docs/security.md calls them workstation commands; each needs a right the CI role has not."""
    push_image(aws, V2)
    assert deploy("up", "--yes", "--service-only", "--tag", V2)[0] == 0
    allowed = deploy_role_actions()
    called = calls_recorded(monkeypatch)

    status, out, err = deploy("rollback", "--yes")
    assert status == 0, out + err
    assert "ecs:ListTaskDefinitions" in called - allowed
    given_on_stdin(monkeypatch, "value")
    status, out, err = deploy("secret", "set", "API_KEY")
    assert status == 0, out + err
    assert {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"} <= called - allowed
    # `run` starts the service's own task definition; the role may start <service>-before's only.
    status, out, err = deploy("run", "--", "true")
    assert status == 0, out + err
    (task,) = one_off_tasks(aws)
    family = task["taskDefinitionArn"].rpartition("/")[2].rpartition(":")[0]
    assert family == SITE.service_stack
    template = cfn_yaml.load(str(FOLDER / "cloudformation" / "resources.yaml"))
    statements = template["Resources"]["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    (run_task,) = [s for s in statements if s.get("Action") == "ecs:RunTask"]
    assert run_task["Resource"]["Fn::Sub"].endswith(":task-definition/${ServiceStackName}-before:*")

    security = " ".join((TEMPLATE / "docs" / "security.md").read_text().split())
    assert (
        "`rollback`, `run` and `secret` are workstation commands: the deploy role cannot run them."
    ) in security
