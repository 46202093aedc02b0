"""The site's image: built for the tasks' CPU, tagged from git, pushed to the stack's ECR."""

import base64
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from flask_fargate import site
from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import console

# The service stack's CpuArchitecture -> the platform its image is built for.
PLATFORMS = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}
# How an image's tag says the CPU it was built for (see image_tag).
SUFFIXES = {"X86_64": "", "ARM64": "-arm64"}
# What Docker engines report as their machine, as a platform's architecture.
ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# The QEMU handler Linux needs to run (and so build) another architecture's binaries.
EMULATORS = {"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}
BINFMT = Path("/proc/sys/fs/binfmt_misc")


def git(project, *args):
    # git from PATH with fixed arguments: the user's own tool on the user's own tree.
    command = ["git", *args]
    return subprocess.run(command, cwd=project, capture_output=True, check=True).stdout  # noqa: S603


def source_tag(project=None):
    """The tag for the image of the working tree (the site's folder): the commit's short sha.

    With uncommitted changes it is `<sha>-dirty-<hash of the changes>`: the repository's tags are
    immutable (a pushed tag is never replaced), so each different dirty tree needs its own tag,
    while rebuilding the same tree finds its image already pushed.
    """
    project = project or site.current().folder
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
        path = project / name.decode()
        # A symbolic link is its target's name, as git stores it (the target may be a folder).
        content = str(path.readlink()).encode() if path.is_symlink() else path.read_bytes()
        changes.update(name + b"\0" + content)
    return f"{sha}-dirty-{changes.hexdigest()[:6]}"


def image_tag(architecture, project=None):
    """The working tree's tag for an image of that architecture.

    The same commit built for the other CPU is another image (a task given it exits at once with
    `exec format error`), so an ARM64 image's tag says so. X86_64 keeps the bare tag, which the
    images of sites made before ARM64 was offered carry.
    """
    return source_tag(project) + SUFFIXES[architecture]


def architecture_of(tag):
    """The CPU an image is built for, as its tag says (image_tag)."""
    return "ARM64" if tag.endswith(SUFFIXES["ARM64"]) else "X86_64"


def refuse_other_architecture(tag, architecture):
    """Stop when `--tag`'s image is built for another CPU than the tasks will run on: its tasks
    would exit at once with `exec format error`, and the deploy end in its circuit breaker.

    Told by the tag's suffix, which `image` and `up` give every image they build. ECR's image
    manifest does not say the architecture: BatchGetImage answers the manifest, and the
    architecture is in the image's config blob, which only GetDownloadUrlForLayer and a download
    from S3 reach (a permission more for the deploy role, an HTTP fetch outside boto3, and moto
    has no such call).
    """
    built_for = architecture_of(tag)
    if built_for == architecture:
        return
    wanted = f"ends in {SUFFIXES['ARM64']}" if architecture == "ARM64" else "has no -arm64"
    raise Abort(
        f"--tag {tag}: an image for {built_for}, and the tasks run on {architecture}: pass the "
        f"tag of an image built for {architecture} (its tag {wanted}; `flask-fargate image` "
        f"builds one) or --set CpuArchitecture={built_for}",
        USAGE,
    )


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
            + (
                # A stand-in has no registry to push to (standin/rehearse.py).
                f"`flask-fargate rehearse --endpoint-url {aws.endpoint_url} --tag {tag}` puts "
                "one into the stand-in and rolls it out"
                if aws.endpoint_url
                else "`flask-fargate image` builds and pushes one"
            ),
            USAGE,
        )


WITHOUT_DOCKER = ", or deploy an image already in ECR with `flask-fargate up --tag TAG`"
# On a stand-in: the image it holds is the one `status` names.
ON_A_STAND_IN = (
    ", or deploy an image the stand-in holds with `flask-fargate up --tag TAG` (`status` names "
    "the one running)"
)


def docker_engine(otherwise=WITHOUT_DOCKER):
    """A client of the local Docker engine, or one line saying to start it (`otherwise`: what
    else the user can do)."""
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        reason = str(error).splitlines()[0]
        raise Abort(
            f"No Docker engine answers ({reason}): start Docker{otherwise}", USAGE
        ) from None
    return client


def check_platform(client, platform):
    """Stop, with what to install or enable, when the engine cannot build for the tasks' CPU."""
    info = client.info()
    machine = info.get("Architecture", "")
    wanted = platform.split("/")[1]
    if ARCHITECTURES.get(machine) == wanted:
        return
    # Docker Desktop emulates the other architecture itself; a Linux engine needs QEMU's
    # handler registered with the kernel (binfmt_misc), which either command below does.
    if "Docker Desktop" in info.get("OperatingSystem", "") or (BINFMT / EMULATORS[wanted]).exists():
        return
    other = next(name for name, each in PLATFORMS.items() if each != platform)
    raise Abort(
        f"The Docker engine runs on {machine} and cannot build {platform} images without "
        f"emulation: register QEMU for {wanted} (`sudo apt-get install qemu-user-static` on "
        f"Debian or Ubuntu, or `docker run --privileged --rm tonistiigi/binfmt --install "
        f"{wanted}`), turn on Docker Desktop's emulation, build where the engine runs on "
        f"{wanted}, or run the tasks on {other} with --set CpuArchitecture={other}",
        USAGE,
    )


@dataclass
class Delivery:
    """The image `up` deploys, checked before anything changes and delivered after the
    resources stack (which holds the repository).

    `given` is --tag (an image already pushed); otherwise the working tree's tag, built and
    pushed unless the repository has it. `checked` says ECR was asked already.
    """

    tag: str
    given: bool
    platform: str = PLATFORMS["X86_64"]
    checked: bool = False
    client: object = None

    @classmethod
    def check(cls, aws, resources, architecture, tag=None):
        """Everything an image needs that can fail, before the first change. `architecture`
        is the CpuArchitecture the service stack will run the image on."""
        repository = resources.get("RepositoryName")
        if tag:
            if repository:  # first: a tag no image has is built for no CPU at all
                require_image(aws, resources, tag)
            refuse_other_architecture(tag, architecture)
            return cls(tag, given=True, checked=bool(repository))
        delivery = cls(image_tag(architecture), given=False, platform=PLATFORMS[architecture])
        if repository and image_exists(aws.client("ecr"), repository, delivery.tag):
            delivery.checked = True
            return delivery
        delivery.client = docker_engine(ON_A_STAND_IN if aws.endpoint_url else WITHOUT_DOCKER)
        check_platform(delivery.client, delivery.platform)
        return delivery

    def deliver(self, aws, resources):
        """The tag, once its image is in the site's repository."""
        if self.given:
            if not self.checked:
                require_image(aws, resources, self.tag)
        elif self.client is None:
            repository = resources["RepositoryName"]
            console.print(f"Image {self.tag} is already in {repository}: not rebuilt")
        else:
            publish(aws, resources, self.client, self.tag, self.platform)
        self.checked = True
        return self.tag


def build(client, context, reference, platform):
    console.print(f"Building {reference} for {platform}")
    # An engine started without its default bridge network (dockerd --bridge=none, as in the
    # template's CI) leaves a build's RUN steps no network at all: there they use the host's.
    bridged = any(network["Name"] == "bridge" for network in client.api.networks(names=["bridge"]))
    chunks = client.api.build(
        path=str(context),
        tag=reference,
        platform=platform,
        rm=True,
        decode=True,
        network_mode=None if bridged else "host",
    )
    for chunk in chunks:
        if "error" in chunk:
            raise Abort(f"docker build failed: {chunk['error'].strip()}")
        text = chunk.get("stream", "").rstrip()
        if text:
            console.print(text, style="dim")


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


def publish(aws, resources, client, tag, platform, project=None):
    """Build the working tree's image for `platform` and push it to the site's repository."""
    uri = resources["RepositoryUri"]
    build(client, project or site.current().folder, f"{uri}:{tag}", platform)
    login = registry_login(aws.client("ecr").get_authorization_token()["authorizationData"][0])
    push(client, uri, tag, login)
