"""The site's image: built for Fargate (linux/amd64), tagged from git, pushed to the stack's ECR."""

import base64
import hashlib
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from deploy.errors import USAGE, Abort
from deploy.ui import console

PROJECT = Path(__file__).resolve().parent.parent
PLATFORM = "linux/amd64"


def git(project, *args):
    # git from PATH with fixed arguments: the user's own tool on the user's own tree.
    command = ["git", *args]
    return subprocess.run(command, cwd=project, capture_output=True, check=True).stdout  # noqa: S603


def source_tag(project=PROJECT):
    """The tag for the image of the working tree: the commit's short sha.

    With uncommitted changes it is `<sha>-dirty-<hash of the changes>`: the repository's tags are
    immutable (a pushed tag is never replaced), so each different dirty tree needs its own tag,
    while rebuilding the same tree finds its image already pushed.
    """
    try:
        sha = git(project, "rev-parse", "--short=7", "HEAD").decode().strip()
        untracked = git(project, "ls-files", "--others", "--exclude-standard", "-z")
        diff = git(project, "diff", "HEAD", "--binary")
    except FileNotFoundError:
        raise Abort(
            "git is not installed; the image tag comes from the git commit", USAGE
        ) from None
    except subprocess.CalledProcessError:
        raise Abort(
            "The image tag comes from the git commit and this folder has none yet: run "
            "`git init && git add -A && git commit -m 'First version'` "
            "(or deploy an image already pushed with `--tag TAG`)",
            USAGE,
        ) from None
    if not diff and not untracked:
        return sha
    changes = hashlib.sha256(diff)
    for name in sorted(filter(None, untracked.split(b"\0"))):
        changes.update(name + b"\0" + (project / name.decode()).read_bytes())
    return f"{sha}-dirty-{changes.hexdigest()[:6]}"


def registry_login(authorization):
    """(username, password, registry host) from one entry of ECR's GetAuthorizationToken."""
    username, password = (
        base64.b64decode(authorization["authorizationToken"]).decode().split(":", 1)
    )
    endpoint = authorization["proxyEndpoint"]
    return username, password, urlparse(endpoint).netloc or endpoint


def image_exists(ecr, repository, tag):
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ImageNotFoundException:
        return False
    return True


def require_image(aws, resources, tag):
    """Stop unless `tag` is in the site's repository: a missing image would crash-loop the tasks."""
    repository = resources["RepositoryName"]
    if not image_exists(aws.client("ecr"), repository, tag):
        raise Abort(
            f"--tag {tag}: no such image in the ECR repository {repository}; "
            "`python -m deploy image` builds and pushes one",
            USAGE,
        )


def docker_engine():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        reason = str(error).splitlines()[0]
        raise Abort(
            f"No Docker engine answers ({reason}): start Docker, or deploy an image already "
            "in ECR with `python -m deploy up --tag TAG`",
            USAGE,
        ) from None
    return client


def build(client, context, reference):
    console.print(f"Building {reference} for {PLATFORM}")
    # An engine started without its default bridge network (dockerd --bridge=none, as in the
    # template's CI) leaves a build's RUN steps no network at all: there they use the host's.
    bridged = any(network["Name"] == "bridge" for network in client.api.networks(names=["bridge"]))
    chunks = client.api.build(
        path=str(context),
        tag=reference,
        platform=PLATFORM,
        rm=True,
        decode=True,
        network_mode=None if bridged else "host",
    )
    for chunk in chunks:
        if "error" in chunk:
            raise Abort(f"docker build failed: {chunk['error'].strip()}")
        text = chunk.get("stream", "").rstrip()
        if text:
            console.print(text, style="dim", markup=False)


def push(client, repository_uri, tag, login):
    console.print(f"Pushing {repository_uri}:{tag}")
    chunks = client.api.push(
        repository_uri,
        tag=tag,
        auth_config=dict(zip(("username", "password", "serveraddress"), login, strict=True)),
        stream=True,
        decode=True,
    )
    for chunk in chunks:
        if "error" in chunk:
            raise Abort(f"docker push failed: {chunk['error'].strip()}")
        if chunk.get("status") in ("Pushed", "Layer already exists"):
            console.print(f"  {chunk.get('id', '')} {chunk['status']}", style="dim")
        if "aux" in chunk:
            console.print(f"  digest {chunk['aux'].get('Digest')}", style="dim")


def publish(aws, resources, project=PROJECT):
    """Build and push the working tree's image unless ECR has it already; returns its tag."""
    tag = source_tag(project)
    repository, uri = resources["RepositoryName"], resources["RepositoryUri"]
    ecr = aws.client("ecr")
    if image_exists(ecr, repository, tag):
        console.print(f"Image {tag} is already in {repository}: not rebuilt")
        return tag
    client = docker_engine()
    build(client, project, f"{uri}:{tag}")
    login = registry_login(ecr.get_authorization_token()["authorizationData"][0])
    push(client, uri, tag, login)
    return tag
