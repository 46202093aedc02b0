"""A site whose DNS is at another provider, alone or joining a host, rehearses on a stand-in that
`rehearse --serve` started, and does day two there (flask_fargate/standin/rehearse.py): the tool,
in a process of its own, creates and resolves the records at the server's stand-in of public DNS
over HTTP, and the server validates the certificate through them. Run as a user runs it, in the
site's folder; a bake with DNS in Route 53 is run from a copy whose DnsProvider is external."""

import shutil

import pytest
from site_under_test import FOLDER, SITE, VARIANT

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    EXTERNAL_DNS,
    MAX_CERTIFICATE_NAME,
    RESOURCES_DEFAULTS,
    aws,
    endpoint,
    fresh_account,
    load_balancer_name,
    parameter,
    tag_for,
    with_default,
)
from test_rehearse_day_two import rehearse_on

from flask_fargate import external_dns, image
from flask_fargate.errors import Abort
from flask_fargate.standin import rehearse
from flask_fargate.standin import rules as moto_rules

__all__ = ["aws", "endpoint", "fresh_account"]
pytestmark = [pytest.mark.filterwarnings("ignore:Tried to parse AWS::"), pytest.mark.answers]

HTTPS = RESOURCES_DEFAULTS["EnableHttps"] == "true" and not RESOURCES_DEFAULTS["CertificateArn"]
if HTTPS:
    assert len(SITE.domain) <= MAX_CERTIFICATE_NAME  # the hooks refuse a longer one with ssl


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The site's folder, its DNS at another provider: this bake's, or a copy made so."""
    if EXTERNAL_DNS:
        return FOLDER
    copy = tmp_path_factory.mktemp("dns-elsewhere") / FOLDER.name
    shutil.copytree(FOLDER, copy, ignore=shutil.ignore_patterns(".git", ".venv"))
    template = copy / "cloudformation" / "resources.yaml"
    assert not RESOURCES_DEFAULTS["HostedZoneId"]  # which DnsProvider external does not take
    template.write_text(with_default("DnsProvider", external_dns.EXTERNAL)(template.read_text()))
    return copy


@pytest.fixture
def rehearsed(folder, endpoint):
    """The site's first deploy on the stand-in, by `rehearse --endpoint-url`; what it printed."""
    status, out, err = rehearse_on(endpoint, folder=folder)
    assert status == 0, out + err
    return out


def stack_status(aws, name):
    (stack,) = aws("cloudformation").describe_stacks(StackName=name)["Stacks"]
    return stack["StackStatus"]


def test_a_site_with_dns_elsewhere_rehearses_its_first_deploy_on_a_served_stand_in(
    aws, rehearsed, endpoint
):
    assert rehearsed.startswith(f"Rehearsing the first deploy of {SITE.domain} against {endpoint}.")
    assert stack_status(aws, SITE.resources_stack) == "CREATE_COMPLETE"
    assert stack_status(aws, SITE.service_stack) == "CREATE_COMPLETE"
    # The records the tool showed, created in the server's public DNS (not the tool process's)...
    target = load_balancer_name(aws)
    for name in (SITE.domain, f"www.{SITE.domain}"):
        assert moto_rules.PUBLIC_DNS.points(name, target)
    # ... which `status` then asked over HTTP, and through which the server validated the
    # certificate, its stack's creation waiting for that.
    assert rehearsed.count("ok: answers as the load balancer") == 2
    if HTTPS:
        (certificate,) = [
            c
            for c in aws("acm").list_certificates()["CertificateSummaryList"]
            if c["DomainName"] == SITE.domain  # not a stand-in host's
        ]
        assert certificate["Status"] == "ISSUED"
    assert "Rehearsal passed" in rehearsed


@pytest.mark.skipif(
    VARIANT != "default",
    reason="a tag's rollout on a served stand-in does not depend on the answers "
    "(test_rehearse_day_two rolls one out for each site)",
)
def test_rehearse_tag_rolls_a_new_image_out_on_the_served_stand_in(
    aws, folder, rehearsed, endpoint
):
    new = tag_for("v2")

    status, out, err = rehearse_on(endpoint, "--tag", "v2", folder=folder)

    assert status == 0, out + err
    assert out.startswith(
        f"Rehearsing a deploy of {SITE.domain} against {endpoint}: its stacks exist, so this "
        "updates them."
    )
    assert image.image_exists(aws("ecr"), SITE.slug, new)
    assert parameter(aws, SITE.service_stack, "ImageTag") == new
    assert f"{SITE.domain} runs image {new}: " in out
    assert out.count("ok: answers as the load balancer") == 2


def test_a_server_with_no_stand_in_of_public_dns_is_named_in_one_line():
    """`rehearse --endpoint-url` at a server that holds no stand-in of public DNS (not one that
    `rehearse --serve` started; here nothing listens): the first record to create stops it."""
    served = rehearse.ServedPublicDns("http://127.0.0.1:9")  # the discard port: nothing answers

    with pytest.raises(Abort) as refused:
        served.create(SITE.domain, "example.elb.amazonaws.com")

    (line,) = str(refused.value).splitlines()
    assert line.startswith(
        f"--endpoint-url: no stand-in of public DNS at http://127.0.0.1:9{moto_rules.PUBLIC_DNS_PATH} ("
    )
    assert line.endswith(
        "a site whose DNS is at another provider rehearses on a server that `rehearse --serve` "
        "started"
    )
    with pytest.raises(OSError):  # as external_dns.resolve, which `status` reports "not checked"
        served.resolve(SITE.domain)
