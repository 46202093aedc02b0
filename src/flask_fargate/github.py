"""The GitHub repository whose main branch may deploy, as its OIDC subject names it.

GitHub's OIDC token for a workflow of a repository created, renamed or transferred since
2026-07-15 (or opted in) has the subject repo:<owner>@<owner id>/<name>@<repository id>:ref:...,
and older repositories' repo:<owner>/<name>:ref:... (GitHub's OpenID Connect reference,
https://docs.github.com/en/actions/reference/security/oidc#immutable-subject-claims; GitHub
changelog 2026-04-23). The deploy role of resources.yaml trusts one of them, as GithubSubject
says; for ids, the tool fills GithubOwnerId and GithubRepoId.

The names in the subject are spelled as GitHub spells them, and IAM's StringEquals compares
case-sensitively (IAM User Guide, "Condition operators",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html),
while GitHub's API takes any case: so the tool deploys GithubRepo as GitHub returns it. A
repository whose subject template is customised sends no default subject at all (GitHub's REST
API, "Get the customization template for an OIDC subject claim for a repository",
https://docs.github.com/en/rest/actions/oidc): the tool refuses it rather than make a role that
never lets its workflow in.
"""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass

from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import console

IDS, NAMES = "ids", "names"
GH_SECONDS = 30


@dataclass(frozen=True)
class Repository:
    full_name: str  # owner/name as GitHub spells them, which its tokens carry
    owner_id: str
    repo_id: str
    # include_claim_keys of the repository's custom subject template (use_default false);
    # None for GitHub's default subject, or where that is not known
    custom_subject: tuple | None = None


def from_actions(repo):
    """In a GitHub Actions job of that repository: its name and ids, from the job's default
    variables GITHUB_REPOSITORY, GITHUB_REPOSITORY_OWNER_ID and GITHUB_REPOSITORY_ID (GitHub's
    "Variables reference")."""
    full_name = os.environ.get("GITHUB_REPOSITORY", "")
    if full_name.lower() != repo.lower():
        return None
    owner = os.environ.get("GITHUB_REPOSITORY_OWNER_ID", "")
    repository = os.environ.get("GITHUB_REPOSITORY_ID", "")
    if owner.isdigit() and repository.isdigit():
        return Repository(full_name, owner, repository)
    return None


def gh_api(gh, path, jq):
    """What `gh api PATH --jq JQ` prints, as JSON; None when it fails."""
    try:
        done = subprocess.run(  # noqa: S603 - gh with a repository name the template checked
            [gh, "api", path, "--jq", jq],
            capture_output=True,
            text=True,
            timeout=GH_SECONDS,
            check=False,
        )
        return json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return None


def from_gh(repo):
    """The repository as GitHub's REST API gives it (`gh api repos/OWNER/NAME`, which takes the
    names in any case and answers its full_name as spelled), and its subject template, when gh is
    here and logged in; else None."""
    gh = shutil.which("gh")
    if gh is None:
        return None
    found = gh_api(gh, f"repos/{repo}", "{name: .full_name, owner: .owner.id, repo: .id}") or {}
    name, owner, repository = (str(found.get(key, "")) for key in ("name", "owner", "repo"))
    if "/" not in name or not owner.isdigit() or not repository.isdigit():
        return None
    # Reading it needs the Actions read permission; unread, the subject is taken as the default.
    template = gh_api(gh, f"repos/{name}/actions/oidc/customization/sub", ".") or {}
    custom = None
    if template.get("use_default") is False:
        custom = tuple(template.get("include_claim_keys") or ())
    return Repository(name, owner, repository, custom)


# Where the repository is found, in this order: (what to call it, a function of owner/name).
ID_SOURCES = [("this GitHub Actions job", from_actions), ("gh", from_gh)]


def found(repo):
    """(where, Repository) from the first source that knows `repo`, or (None, None)."""
    for source, find in ID_SOURCES:
        repository = find(repo)
        if repository:
            return source, repository
    return None, None


def default_subject(repository, subject):
    """The subject of GitHub's default template for main, which the deploy role trusts."""
    if subject != IDS:
        return f"repo:{repository.full_name}:ref:refs/heads/main"
    owner, name = repository.full_name.split("/")
    return f"repo:{owner}@{repository.owner_id}/{name}@{repository.repo_id}:ref:refs/heads/main"


def refuse_a_custom_subject(repository, subject):
    if repository.custom_subject is None:
        return
    name = repository.full_name
    raise Abort(
        f"GithubRepo {name}: its OIDC subject template is customised (use_default false, "
        f"include_claim_keys {', '.join(repository.custom_subject) or 'none'}), so its tokens "
        f"never carry {default_subject(repository, subject)}, the only subject the deploy role "
        f"trusts: put the repository back on the default (`gh api -X PUT repos/{name}/actions/"
        "oidc/customization/sub -F use_default=true`), or edit the DeployRole's trust in "
        "cloudformation/resources.yaml to match that template",
        USAGE,
    )


def subject_overrides(resources_stack, values, overrides):
    """What the resources stack needs beyond `values` for the deploy role's trust: GithubRepo as
    GitHub spells it, and the ids when GithubSubject is ids and they are unknown, whenever it
    trusts a repository anew; names kept for a deploy role made before GithubSubject existed
    (its repository's tokens name no ids unless it has opted in)."""
    repo = values.get("GithubRepo", "")
    if not repo:
        return {}
    deployed = {
        p["ParameterKey"]: p.get("ParameterValue")
        for p in (resources_stack or {}).get("Parameters", [])
    }
    made_before_ids = "GithubRepo" in deployed and "GithubSubject" not in deployed
    if made_before_ids and "GithubSubject" not in overrides:
        console.print(
            f"GithubSubject {NAMES}: kept for {repo}, whose deploy role was made before the ids "
            f"form; `--set GithubSubject={IDS}` once its tokens name ids (GitHub's OIDC settings)"
        )
        return {"GithubSubject": NAMES}
    subject = values.get("GithubSubject")
    # Ids kept from the stack belong to the repository it trusted: a new GithubRepo needs its own
    # (GitHub's names are case-insensitive: a name spelled anew is the same repository).
    trusted = deployed.get("GithubRepo")
    ids_known = {"GithubOwnerId", "GithubRepoId"} <= overrides.keys() or (
        values.get("GithubOwnerId")
        and values.get("GithubRepoId")
        and (trusted is None or trusted.lower() == repo.lower())
    )
    ids_needed = subject == IDS and not ids_known
    if deployed.get("GithubRepo") == repo and not ids_needed:
        return {}  # the trust deployed: the repository was looked up when it was made
    source, repository = found(repo)
    if repository is None:
        if ids_needed:
            raise Abort(
                f"GithubRepo {repo}: the deploy role trusts its owner's and repository's ids "
                f"(GithubSubject {IDS}), and gh could not read them here: run `gh api "
                f"repos/{repo} --jq '.owner.id, .id'` and deploy with --set "
                "GithubOwnerId=<first> --set GithubRepoId=<second> (or --set "
                f"GithubSubject={NAMES} for a repository made before 2026-07-15 that has not "
                "opted in)",
                USAGE,
            )
        return {}  # nobody here to ask: the name as given
    refuse_a_custom_subject(repository, subject)
    trust = {}
    if repository.full_name != repo:
        console.print(
            f"GithubRepo {repository.full_name}: {repo} as GitHub spells it, and so its tokens "
            f"(from {source})"
        )
        trust["GithubRepo"] = repository.full_name
    if ids_needed:
        console.print(
            f"GitHub repository {repository.full_name}: owner id {repository.owner_id}, "
            f"repository id {repository.repo_id} (from {source})"
        )
        trust |= {"GithubOwnerId": repository.owner_id, "GithubRepoId": repository.repo_id}
    return trust
