"""`make rehearse`: the first deploy, offline, against a local moto server instead of AWS.

It runs `flask-fargate up` and `status` unchanged against a moto server taught AWS's rules
(standin/rules.py), then stops the server: every API call the tool makes, both templates
with this site's parameters, conditions and outputs, and the order of the stacks. It is not
AWS: moto creates no network, runs no task and answers no DNS, so a rehearsal that passes says
nothing about quotas, permissions or the time things take.

One step is a stand-in: moto has no image registry, so instead of building and pushing, the
rehearsal records an image manifest under the tag `rehearsal` (`rehearsal-arm64` for tasks on
ARM64, as image.image_tag names an image for that CPU) as `docker push` would, and needs neither
Docker nor a git commit. A site deployed from GitHub gets stand-in ids of its
repository, which on AWS `up` reads with gh. A site that names an existing certificate or hosted
zone gets a stand-in of each in the moto account, as the real account has them. A site whose DNS
is at another provider gets a stand-in of it and of public DNS: every record the tool says to
create there is created at once, as its user would, and the certificate validates through it
only if the record is exactly the one ACM named.

A site that joins another's load balancer (HostSite) gets a stand-in host: this site's own
resources template, deployed under the host's stack name with a network and load balancer of
its own, HTTPS on, and a domain under rehearsal.invalid. Sites that share a load balancer
(HostSite) can also rehearse together, against one server: `make rehearse
ARGS=--serve` in the host's folder starts it and prints its address; then `make rehearse
ARGS=--endpoint-url=<address>` in the host's folder, and in each joining site's. Where the
site's stacks exist on that server already, the rehearsal is a later deploy and says so, and
`--tag NAME` records a manifest under NAME (for the tasks' CPU) and rolls it out: `up` cannot
push to a server with no image registry. A site whose DNS is at another provider creates and
resolves its records there in the server's own stand-in of public DNS (rules.PUBLIC_DNS), over
HTTP (ServedPublicDns), as that server validates its certificate through them.
"""

import argparse
import json
import os
import re
import tempfile
import threading
from pathlib import Path

import requests

from flask_fargate import account, cli, commands, deployments, external_dns, github, image, site
from flask_fargate.aws import Aws
from flask_fargate.errors import USAGE, Abort

TAG = "rehearsal"
# Credentials for the local server only: a rehearsal never reads the user's own.
ISOLATED = {
    "AWS_ACCESS_KEY_ID": "rehearsal",
    "AWS_SECRET_ACCESS_KEY": "rehearsal",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")


class StandInImage(image.Delivery):
    """The image step of `up`, with a recorded manifest instead of a build and a push.

    `name` is the rehearsal's --tag: the image a rehearsal deploys in place of the working
    tree's."""

    name = TAG

    @classmethod
    def check(cls, aws, resources, architecture, tag=None):
        # Named for the tasks' CPU, as `up` names every image it builds: `up --tag` and
        # `rollback` refuse an image whose tag says another CPU.
        tag = tag or for_cpu(cls.name, architecture)
        return cls(tag, given=False, platform=image.PLATFORMS[architecture], client="stand-in")

    def deliver(self, aws, resources):
        repository = resources["RepositoryName"]
        if not image.image_exists(aws.client("ecr"), repository, self.tag):
            record_image(aws.client("ecr"), repository, self.tag)
        print(f"Image {self.tag}: a manifest recorded in {repository} (no Docker in a rehearsal)")
        return self.tag


def for_cpu(name, architecture):
    """The tag of an image called `name` built for that CPU, as image.image_tag names one."""
    built_for = image.architecture_of(name)
    if built_for != architecture and image.SUFFIXES[built_for]:  # a name saying another CPU
        raise Abort(
            f"--tag {name}: a tag ending in {image.SUFFIXES[built_for]} names an image for "
            f"{built_for}, and the tasks run on {architecture}: pass a name without it",
            USAGE,
        )
    tag = name if built_for == architecture else name + image.SUFFIXES[architecture]
    from flask_fargate import stacks

    # Docker's rule for a tag (docs.docker.com, "docker image tag"), as the template spells it.
    allowed = stacks.decode(stacks.service().body())["Parameters"]["ImageTag"]["AllowedPattern"]
    if not re.fullmatch(allowed, tag):
        raise Abort(
            f"--tag {name}: the tag {tag} does not match {allowed}, the pattern the service "
            "stack's ImageTag allows (at most 128 letters, digits, _ . -, the first not . or -)",
            USAGE,
        )
    return tag


def record_image(ecr, repository, tag):
    """Put an image manifest into the repository under `tag`, as `docker push` would."""
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
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


def stand_in_certificate(aws, domain=None):
    """A certificate for the domain, as a user's own would be: ACM takes at most 64 characters
    in a certificate's name, so a longer domain is one of its alternative names."""
    domain = domain or site.current().domain
    name = domain if len(domain) <= commands.MAX_CERTIFICATE_NAME else "stand-in.invalid"
    acm = aws.client("acm")
    return acm.request_certificate(DomainName=name, SubjectAlternativeNames=[domain])[
        "CertificateArn"
    ]


def stand_in_provider(public_dns, patch=setattr):
    """The user at the DNS provider, who creates each record the tool shows at once, in the moto
    server's public DNS (rules.PUBLIC_DNS), which `status` then asks. `patch` is setattr,
    or a test's monkeypatch.setattr."""
    show = external_dns.show

    def show_and_create(records, domain, why):
        show(records, domain, why)
        for record in records:
            public_dns.create(record.name, record.value)

    patch(external_dns, "show", show_and_create)
    patch(external_dns, "resolve", public_dns.resolve)


class ServedPublicDns:
    """The stand-in of public DNS in a moto server another process started (`rehearse --serve`),
    at its route rules.PUBLIC_DNS_PATH: create and resolve as rules.PublicDns has them."""

    def __init__(self, endpoint):
        from flask_fargate.standin.rules import PUBLIC_DNS_PATH

        self.url = endpoint.rstrip("/") + PUBLIC_DNS_PATH

    def create(self, name, target):
        try:
            self.ask("post", json={"name": name, "target": target})
        except OSError as error:
            raise Abort(
                f"--endpoint-url: no stand-in of public DNS at {self.url} ({error}): a site whose "
                "DNS is at another provider rehearses on a server that `rehearse --serve` started"
            ) from error

    def resolve(self, name):
        """As external_dns.resolve: a failure to ask raises OSError (requests' errors are)."""
        answer = self.ask("get", params={"name": name})
        return external_dns.Answer(answer["canonical"], frozenset(answer["addresses"]))

    def ask(self, method, **request):
        response = requests.request(method, self.url, timeout=30, **request)
        response.raise_for_status()
        return response.json()


def stand_in_github(patch=setattr):
    """GitHub, which `up` asks for the repository's ids (with gh, or in GitHub Actions): stand-in
    ids here, said to be stand-ins. `patch` is setattr, or a test's monkeypatch.setattr."""
    stand_in = [
        ("a stand-in of GitHub", lambda repo: github.Repository(repo, *STAND_IN_GITHUB_IDS))
    ]
    patch(github, "ID_SOURCES", stand_in)


STAND_IN_GITHUB_IDS = ("1000001", "1000002")


def stand_in_overrides(aws, defaults):
    """--set options naming stand-ins for the certificate and hosted zone a site says exist."""
    overrides = []
    if defaults["CertificateArn"]:
        overrides += ["--set", f"CertificateArn={stand_in_certificate(aws)}"]
    if defaults["HostedZoneId"]:
        # A reference of its own: sites rehearsing together share one Route 53.
        here = site.current()
        zone = aws.client("route53").create_hosted_zone(
            Name=here.domain, CallerReference=f"{TAG}-{here.slug}"
        )
        overrides += ["--set", f"HostedZoneId={zone['HostedZone']['Id'].split('/')[-1]}"]
    return overrides


def stand_in_host(aws, host):
    """The host's resources stack as a site of its own would have it (see the module's notes)."""
    from flask_fargate import host as sharing
    from flask_fargate import stacks

    # The stack names its repository, cluster and log group after the site: the host's, here.
    body = stacks.resources().body()
    slug = site.current().slug
    for name in (slug, f"/ecs/{slug}"):
        body = body.replace(json.dumps(name), json.dumps(name.replace(slug, host)))
    values = {
        "HostSite": "",
        "DomainName": f"{host}.rehearsal.invalid",
        "DnsProvider": "route53",
        "HostedZoneId": "",
        "CertificateArn": "",
        "EnableHttps": "true",
        "GithubRepo": "",
        "ServiceStackName": f"{host}-service",  # as flask_fargate/site.py names a site's
    }
    with tempfile.TemporaryDirectory() as folder:
        template = Path(folder) / "resources.yaml"
        template.write_text(body)
        spec = stacks.StackSpec(sharing.resources_stack_name(host), template)
        account.create_service_linked_roles(aws)  # as the host's first `up` did
        stacks.deploy(aws, spec, values, confirm=lambda spec: True)
    print(f"Stand-in host: {spec.name}, as the site {host} would have it")


def deployed_before(endpoint):
    """True when the site's stacks exist on the server: a rehearsal there updates them."""
    from flask_fargate import stacks

    aws = Aws(endpoint_url=endpoint)
    specs = (stacks.resources(), stacks.service())
    return not any(stacks.is_new(stacks.describe(aws, spec.name)) for spec in specs)


def rehearse(endpoint, with_host=False):
    from flask_fargate import stacks

    aws = Aws(endpoint_url=endpoint)
    defaults, _ = stacks.template_summary(aws, stacks.resources())
    if with_host and defaults.get("HostSite"):  # a site generated with host_site
        stand_in_host(aws, defaults["HostSite"])
    common = ["--endpoint-url", endpoint]
    # Once the resources stack holds the stand-ins' ids, `up` keeps them (values set once).
    overrides = []
    if stacks.is_new(stacks.describe(aws, stacks.resources().name)):
        overrides = stand_in_overrides(aws, defaults)
    status = cli.main(["up", "--yes", *overrides, *common])
    if status == 0:
        status = cli.main(["status", *common])
    return status


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="flask-fargate rehearse",
        description="The site's first deploy against a local moto server, offline; with "
        "--endpoint-url, a later one too.",
    )
    shared = parser.add_mutually_exclusive_group()
    shared.add_argument(
        "--serve",
        action="store_true",
        help="only start a moto server and print its address, until Ctrl-C: each site "
        "rehearses against it with --endpoint-url, and its day-two commands take it too",
    )
    shared.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="rehearse against this running server (another `rehearse --serve`) and leave it",
    )
    parser.add_argument(
        "--tag",
        metavar="NAME",
        default=TAG,
        help=f"record the image's manifest under NAME (default {TAG}; -arm64 is added for "
        "tasks on ARM64) and deploy it: with --endpoint-url, a new image onto a site the "
        "server runs already",
    )
    return parser.parse_args(argv)


def serve(moto_server):
    with moto_server() as endpoint:
        print(
            f"moto server at {endpoint}: rehearse each site against it with `make rehearse "
            f"ARGS=--endpoint-url={endpoint}`, a host before the sites joining it. Ctrl-C "
            "stops it.",
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


def main(argv=None):
    options = parse(argv)
    for key in UNSET:
        os.environ.pop(key, None)
    os.environ.update(ISOLATED)
    from flask_fargate.standin.rules import PUBLIC_DNS  # moto opens a boto3 session as it loads
    from flask_fargate.standin.server import moto_server

    if options.serve:
        return serve(moto_server)
    account.ROLE_PROPAGATION_SECONDS = 0  # moto's IAM is consistent at once
    deployments.POLL_SECONDS = 0  # the stand-in's deployment moves a stage each time it is asked
    StandInImage.name = options.tag
    image.Delivery = StandInImage
    # The server's public DNS: this process's own, or that of the server at --endpoint-url.
    stand_in_provider(ServedPublicDns(options.endpoint_url) if options.endpoint_url else PUBLIC_DNS)
    stand_in_github()
    domain = site.current().domain
    if options.endpoint_url:
        if deployed_before(options.endpoint_url):
            print(
                f"Rehearsing a deploy of {domain} against {options.endpoint_url}: its stacks "
                "exist, so this updates them."
            )
        else:
            print(f"Rehearsing the first deploy of {domain} against {options.endpoint_url}.")
        status = rehearse(options.endpoint_url)
        kept = f"the server at {options.endpoint_url} keeps what it deployed"
        if status == 0:
            print(
                f"\nRehearsal passed; {kept}, and `--tag NAME` with the same --endpoint-url "
                "deploys a new image onto it."
            )
        else:
            print(f"\nRehearsal failed; {kept}.")
        return status
    print(f"Rehearsing the first deploy of {domain} against a local moto server, not AWS.")
    with moto_server() as endpoint:
        status = rehearse(endpoint, with_host=True)
    outcome = "passed" if status == 0 else "failed"
    print(f"\nRehearsal {outcome}; the moto server is stopped and nothing of it is kept.")
    return status
