"""The ids of the GitHub repository whose main branch may deploy, which its OIDC subject names.

GitHub's OIDC token for a workflow of a repository created, renamed or transferred since
2026-07-15 (or opted in) has the subject repo:<owner>@<owner id>/<name>@<repository id>:ref:...,
and older repositories' repo:<owner>/<name>:ref:... ("Immutable subject claims" in GitHub's
OpenID Connect reference; GitHub changelog 2026-04-23). The deploy role of resources.yaml trusts
one of them, as GithubSubject says; for ids, the tool fills GithubOwnerId and GithubRepoId.
"""

import json
import os
import shutil
import subprocess

from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import console

IDS, NAMES = "ids", "names"
GH_SECONDS = 30


def ids_from_actions(repo):
    """In a GitHub Actions job of that repository: its ids, from the job's default variables
    GITHUB_REPOSITORY_OWNER_ID and GITHUB_REPOSITORY_ID (GitHub's "Variables reference")."""
    if os.environ.get("GITHUB_REPOSITORY", "").lower() != repo.lower():
        return None
    owner = os.environ.get("GITHUB_REPOSITORY_OWNER_ID", "")
    repository = os.environ.get("GITHUB_REPOSITORY_ID", "")
    return (owner, repository) if owner.isdigit() and repository.isdigit() else None


def ids_from_gh(repo):
    """The ids as GitHub's REST API gives them (`gh api repos/OWNER/NAME`), when gh is here and
    logged in; else None."""
    gh = shutil.which("gh")
    if gh is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - gh with a repository name the template checked
            [gh, "api", f"repos/{repo}", "--jq", "{owner: .owner.id, repo: .id}"],
            capture_output=True,
            text=True,
            timeout=GH_SECONDS,
            check=False,
        )
        found = json.loads(done.stdout) if done.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return None
    owner, repository = str(found.get("owner", "")), str(found.get("repo", ""))
    return (owner, repository) if owner.isdigit() and repository.isdigit() else None


# Where the ids are found, in this order: (what to call it, a function of owner/name).
ID_SOURCES = [("this GitHub Actions job", ids_from_actions), ("gh", ids_from_gh)]


def subject_overrides(resources_stack, values, overrides):
    """What the resources stack needs beyond `values` for the deploy role's trust: the ids, when
    GithubSubject is ids and they are unknown; and names kept for a deploy role made before
    GithubSubject existed (its repository's tokens name no ids unless it has opted in)."""
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
    if values.get("GithubSubject") != IDS:
        return {}
    if {"GithubOwnerId", "GithubRepoId"} <= overrides.keys():
        return {}
    # Ids kept from the stack belong to the repository it trusted: a new GithubRepo needs its own.
    same_repo = deployed.get("GithubRepo") in (None, repo)
    if values.get("GithubOwnerId") and values.get("GithubRepoId") and same_repo:
        return {}
    for source, found in ID_SOURCES:
        ids = found(repo)
        if ids:
            console.print(
                f"GitHub repository {repo}: owner id {ids[0]}, repository id {ids[1]} "
                f"(from {source})"
            )
            return {"GithubOwnerId": ids[0], "GithubRepoId": ids[1]}
    raise Abort(
        f"GithubRepo {repo}: the deploy role trusts its owner's and repository's ids "
        f"(GithubSubject {IDS}), and gh could not read them here: run `gh api repos/{repo} "
        "--jq '.owner.id, .id'` and deploy with --set GithubOwnerId=<first> --set "
        f"GithubRepoId=<second> (or --set GithubSubject={NAMES} for a repository made before "
        "2026-07-15 that has not opted in)",
        USAGE,
    )
