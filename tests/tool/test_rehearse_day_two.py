"""Day two on a stand-in that `rehearse --serve` started: `rehearse --endpoint-url` once the site
runs there (a later deploy, not the first), and `--tag NAME`, the rehearsal's way to put a new
image into it (flask_fargate/standin/rehearse.py). Run as a user runs it, in the site's folder."""

import subprocess
import sys

import pytest
from site_under_test import FOLDER, SITE, VARIANT

# The moto server, its fresh account and the tool, as test_deploy.py has them.
from test_deploy import (
    ARCHITECTURE,
    aws,
    deploy,
    endpoint,
    fresh_account,
    parameter,
    tag_for,
    use_edited_template,
    with_default,
)

from flask_fargate import image
from flask_fargate.standin import rehearse

__all__ = ["aws", "deploy", "endpoint", "fresh_account"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")
# A served rehearsal of a site whose DNS is at another provider: test_served_external_dns.py.
not_on_the_external_dns_site = pytest.mark.skipif(
    VARIANT == "external-dns", reason="its served rehearsal is test_served_external_dns.py's"
)

FIRST_TAG = tag_for(rehearse.TAG)


def rehearse_on(endpoint, *args, folder=FOLDER):
    """`flask-fargate rehearse --endpoint-url URL ARGS` in the site's folder (or `folder`):
    (status, out, err)."""
    done = subprocess.run(  # noqa: S603 - the tool under test, with this interpreter
        [sys.executable, "-m", "flask_fargate", "rehearse", f"--endpoint-url={endpoint}", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def rehearsed(endpoint):
    """The site's first deploy on the stand-in, by `rehearse --endpoint-url`; what it printed."""
    status, out, err = rehearse_on(endpoint)
    assert status == 0, out + err
    return out


def test_a_first_rehearsal_on_a_stand_in_says_so_and_that_the_server_keeps_it(rehearsed, endpoint):
    assert rehearsed.startswith(f"Rehearsing the first deploy of {SITE.domain} against {endpoint}.")
    assert rehearsed.rstrip().endswith(
        f"Rehearsal passed; the server at {endpoint} keeps what it deployed, and `--tag NAME` "
        "with the same --endpoint-url deploys a new image onto it."
    )


def test_a_rehearsal_where_the_sites_stacks_exist_says_it_updates_them_and_changes_nothing(
    rehearsed, endpoint
):
    status, out, err = rehearse_on(endpoint)

    assert status == 0, out + err
    assert out.startswith(
        f"Rehearsing a deploy of {SITE.domain} against {endpoint}: its stacks exist, so this "
        "updates them."
    )
    assert "first deploy" not in out
    # The stand-ins of a named certificate or zone are the stack's already: none made again.
    assert f"{SITE.resources_stack}: no changes, the stack already matches" in out
    assert f"{SITE.service_stack}: no changes, the stack already matches" in out
    assert f"Rehearsal passed; the server at {endpoint} keeps what it deployed" in out


def test_a_later_rehearsal_keeps_the_stand_ins_of_a_named_certificate_and_zone(
    aws, endpoint, monkeypatch, tmp_path, capsys
):
    """A site naming an existing certificate and hosted zone: the first rehearsal makes a
    stand-in of each, which the stack then holds; a later one makes none again."""
    named = {
        "CertificateArn": f"arn:aws:acm:{SITE.region}:123456789012:certificate/{'0' * 36}",
        "HostedZoneId": "Z0123456789ABCDEFGHIJ",
    }
    use_edited_template(
        monkeypatch,
        tmp_path,
        "resources",
        lambda text: with_default("HostedZoneId", named["HostedZoneId"])(
            with_default("CertificateArn", named["CertificateArn"])(text)
        ),
    )
    monkeypatch.setattr(image, "Delivery", rehearse.StandInImage)
    assert rehearse.rehearse(endpoint) == 0
    capsys.readouterr()

    assert rehearse.rehearse(endpoint) == 0

    out = capsys.readouterr().out
    assert f"{SITE.resources_stack}: no changes, the stack already matches" in out
    assert len(aws("acm").list_certificates()["CertificateSummaryList"]) == 1
    assert len(aws("route53").list_hosted_zones()["HostedZones"]) == 1


@pytest.mark.answers
@not_on_the_external_dns_site
def test_rehearse_tag_puts_a_new_image_into_the_stand_in_and_rolls_it_out(
    aws, deploy, rehearsed, endpoint
):
    new = tag_for("v2")

    status, out, err = rehearse_on(endpoint, "--tag", "v2")

    assert status == 0, out + err
    assert image.image_exists(aws("ecr"), SITE.slug, new)
    assert parameter(aws, SITE.service_stack, "ImageTag") == new
    assert f"  parameter ImageTag: {FIRST_TAG} -> {new}" in out
    assert f"{SITE.domain} runs image {new}: " in out
    # A day two like any other: `rollback` finds the rehearsal's first image before it.
    status, out, err = deploy("rollback", "--yes")
    assert status == 0, out + err
    assert parameter(aws, SITE.service_stack, "ImageTag") == FIRST_TAG


@pytest.mark.answers
@not_on_the_external_dns_site
def test_rehearse_tag_takes_a_name_already_for_the_tasks_cpu_as_it_is(aws, rehearsed, endpoint):
    new = tag_for("v3")

    status, out, err = rehearse_on(endpoint, "--tag", new)

    assert status == 0, out + err
    assert parameter(aws, SITE.service_stack, "ImageTag") == new


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (
            "v 2",
            f"the tag {tag_for('v 2')} does not match ^[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}$, the "
            "pattern the service stack's ImageTag allows (at most 128 letters, digits, _ . -, "
            "the first not . or -)",
        ),
        pytest.param(
            "v2-arm64",
            "a tag ending in -arm64 names an image for ARM64, and the tasks run on X86_64: pass "
            "a name without it",
            marks=pytest.mark.skipif(ARCHITECTURE != "X86_64", reason="the tasks run on ARM64"),
        ),
    ],
)
def test_rehearse_tag_refuses_a_name_that_is_no_tag_for_the_tasks_before_the_image_changes(
    aws, rehearsed, endpoint, name, why
):
    status, out, err = rehearse_on(endpoint, "--tag", name)

    assert (status, err.splitlines()) == (2, [f"error: --tag {name}: {why}"])
    assert parameter(aws, SITE.service_stack, "ImageTag") == FIRST_TAG
