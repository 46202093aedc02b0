"""Which answers bake, which are refused, and what a bake leaves on disk."""

import json
import os
import re

import pytest
from conftest import TEMPLATE, bake_cli, copy_template, rendered_text_files

QUESTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())
REGIONS = QUESTIONS["aws_region"]
PYTHONS = QUESTIONS["python_version"]
NATS = QUESTIONS["nat_gateways"]
# One valid memory size per cpu choice, the largest ones included.
TASK_SIZES = [
    ("256", "512"),
    ("512", "4096"),
    ("1024", "2048"),
    ("2048", "16384"),
    ("4096", "30720"),
    ("8192", "61440"),
    ("16384", "122880"),
]
CERTIFICATE = "arn:aws:acm:{region}:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def region_rotation():
    """Every region once, walking through every cpu, python and NAT choice on the way."""
    for index, region in enumerate(REGIONS):
        cpu, memory = TASK_SIZES[index % len(TASK_SIZES)]
        python = PYTHONS[index % len(PYTHONS)]
        nat = NATS[index % len(NATS)]
        answers = {"aws_region": region, "cpu": cpu, "memory": memory, "python_version": python, "nat_gateways": nat}
        yield pytest.param(answers, id=f"{region}-cpu{cpu}-mem{memory}-py{python}-nat{nat}")


SUPPORTED = [
    pytest.param({}, id="defaults"),
    pytest.param({"ssl": "no"}, id="ssl-off"),
    pytest.param({"ssl": "no", "nat_gateways": "0", "desired_count": "1", "max_count": "1"}, id="cheapest"),
    pytest.param(
        {"hosted_zone_id": "Z0123456789ABCDEFGHIJ", "certificate_arn": CERTIFICATE.format(region="eu-west-1")},
        id="existing-zone-and-certificate",
    ),
    pytest.param(
        {"aws_region": "us-east-1", "certificate_arn": CERTIFICATE.format(region="us-east-1")},
        id="existing-certificate-us-east-1",
    ),
    pytest.param({"desired_count": "3", "max_count": "3"}, id="no-autoscaling"),
    pytest.param({"desired_count": "10", "max_count": "5000"}, id="large-scaling-range"),
    pytest.param({"alarm_email": "ops+alerts@example.com"}, id="alarm-email"),
    pytest.param({"dynamodb_access": "yes"}, id="dynamodb"),
    pytest.param({"github_repo": "acme/example.com-site"}, id="github"),
    pytest.param({"domain": "xn--bcher-kva.example", "nat_gateways": "1"}, id="punycode-domain"),
    pytest.param({"domain": "1password.com"}, id="domain-starting-with-digit"),
    pytest.param({"domain": "a.b.c.d.example.co.uk", "domain_slug": "deep-site"}, id="own-slug"),
    *region_rotation(),
]


@pytest.mark.parametrize("answers", SUPPORTED)
def test_supported_answers_bake_cleanly(tmp_path, answers):
    bake = bake_cli(tmp_path, **answers)

    assert bake.returncode == 0, bake.stderr
    project = bake.project
    for path in project.rglob("*"):
        assert "{{" not in str(path) and "{%" not in str(path), path
    for path, text in rendered_text_files(project):
        assert not re.search(r"\{\{-? *cookiecutter", text), f"unrendered answer in {path}"
        if "templates" not in path.parts:  # the Flask app's own Jinja pages keep their {% %}
            assert "{%" not in text, f"unrendered Jinja block in {path}"
    assert "cd " + project.name in bake.stdout, "the next steps name the new folder"


def test_default_slug_and_folder(tmp_path):
    bake = bake_cli(tmp_path, domain="shop.example.org")
    assert bake.returncode == 0, bake.stderr
    assert bake.project.name == "shop-example-org"


TOO_LONG_LABEL = "a" * 64
UNSUPPORTED = [
    # (id, answers, the question the error must name)
    ("domain-uppercase", {"domain": "Example.com"}, "domain"),
    ("domain-one-label", {"domain": "localhost"}, "domain"),
    ("domain-underscore", {"domain": "my_site.com"}, "domain"),
    ("domain-leading-hyphen", {"domain": "-site.com"}, "domain"),
    ("domain-trailing-hyphen", {"domain": "site-.com"}, "domain"),
    ("domain-empty-label", {"domain": "site..com"}, "domain"),
    ("domain-trailing-dot", {"domain": "example.com."}, "domain"),
    ("domain-label-64", {"domain": f"{TOO_LONG_LABEL}.com"}, "domain"),
    ("domain-250-characters", {"domain": ".".join(["a" * 49] * 5) + ".com"}, "domain"),
    ("domain-numeric-tld", {"domain": "10.0.0.1"}, "domain"),
    ("domain-with-space", {"domain": "my site.com"}, "domain"),
    ("domain-quote", {"domain": 'a".com'}, "domain"),
    ("slug-double-hyphen", {"domain_slug": "my--site"}, "domain_slug"),
    ("slug-starts-with-digit", {"domain_slug": "1site"}, "domain_slug"),
    ("slug-uppercase", {"domain_slug": "Site"}, "domain_slug"),
    ("cpu-not-a-choice", {"cpu": "300"}, "cpu"),
    ("memory-too-small-for-cpu", {"cpu": "1024", "memory": "1024"}, "memory"),
    ("memory-off-step", {"cpu": "8192", "memory": "20000"}, "memory"),
    ("memory-not-a-number", {"memory": "lots"}, "memory"),
    ("memory-in-gib", {"memory": "0.5"}, "memory"),
    ("desired-zero", {"desired_count": "0"}, "desired_count"),
    ("desired-not-whole", {"desired_count": "1.5"}, "desired_count"),
    ("desired-words", {"desired_count": "two"}, "desired_count"),
    ("max-below-desired", {"desired_count": "3", "max_count": "2"}, "max_count"),
    ("max-too-large", {"max_count": "5001"}, "max_count"),
    ("region-not-a-choice", {"aws_region": "mars-north-1"}, "aws_region"),
    ("nat-not-a-choice", {"nat_gateways": "3"}, "nat_gateways"),
    ("ssl-not-a-boolean", {"ssl": "maybe"}, "ssl"),
    ("zone-id-lowercase", {"hosted_zone_id": "z123abc"}, "hosted_zone_id"),
    ("zone-id-with-prefix", {"hosted_zone_id": "/hostedzone/Z123ABC"}, "hosted_zone_id"),
    ("certificate-malformed", {"certificate_arn": "arn:aws:acm:eu-west-1:123:certificate/x"}, "certificate_arn"),
    ("certificate-other-region", {"certificate_arn": CERTIFICATE.format(region="us-east-1")}, "certificate_arn"),
    ("certificate-without-ssl", {"ssl": "no", "certificate_arn": CERTIFICATE.format(region="eu-west-1")}, "certificate_arn"),
    ("email-without-domain", {"alarm_email": "ops@"}, "alarm_email"),
    ("email-two-addresses", {"alarm_email": "a@example.com,b@example.com"}, "alarm_email"),
    ("email-markdown", {"alarm_email": "*ops*@example.com"}, "alarm_email"),
    ("github-no-owner", {"github_repo": "site"}, "github_repo"),
    ("github-url", {"github_repo": "https://github.com/acme/site"}, "github_repo"),
    ("github-dot-dot", {"github_repo": "acme/.."}, "github_repo"),
]


@pytest.mark.parametrize(("answers", "question"), [pytest.param(a, q, id=i) for i, a, q in UNSUPPORTED])
def test_unsupported_answers_are_refused(tmp_path, answers, question):
    bake = bake_cli(tmp_path, **answers)

    assert bake.returncode != 0
    assert re.search(rf"\b{question}\b", bake.stderr), bake.stderr
    assert list(tmp_path.iterdir()) == [], "a refused bake leaves nothing behind"


def test_every_problem_is_reported_at_once(tmp_path):
    bake = bake_cli(
        tmp_path, domain="Not A Domain", memory="3", desired_count="0", github_repo="x", alarm_email="nobody"
    )

    assert bake.returncode == 1
    errors = [line for line in bake.stderr.splitlines() if line.startswith("error: ")]
    assert [line.split(":")[1].strip() for line in errors] == [
        "domain",
        "memory",
        "desired_count",
        "alarm_email",
        "github_repo",
    ]
    assert '"Not A Domain"' in errors[0], "the error quotes the value given"
    assert list(tmp_path.iterdir()) == []


def test_refused_bake_keeps_an_existing_folder(tmp_path):
    """With --overwrite-if-exists a refused bake must not delete the user's existing project."""
    first = bake_cli(tmp_path)
    assert first.returncode == 0, first.stderr
    own_file = first.project / "notes.txt"
    own_file.write_text("mine")

    second = bake_cli(tmp_path, flags=["--overwrite-if-exists"], memory="3")
    assert second.returncode != 0
    assert "memory" in second.stderr, "the validation hook ran, over the existing folder"
    assert own_file.read_text() == "mine"


BROKEN_STACK = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      NoSuchProperty: true
"""


def test_lint_findings_fail_the_bake_and_remove_the_folder(tmp_path):
    template = copy_template(tmp_path / "template")
    (template / "{{cookiecutter.domain_slug}}" / "cloudformation" / "broken.yaml").write_text(BROKEN_STACK)

    bake = bake_cli(tmp_path / "out", template=template)

    assert bake.returncode != 0
    assert re.search(r"cloudformation/broken\.yaml:6 E3002 ", bake.stderr), bake.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_bake_without_cfn_lint_warns_and_succeeds(tmp_path, monkeypatch):
    """Users running `pipx run cookiecutter` have no cfn-lint: say how to validate later."""
    shadow = tmp_path / "shadow" / "cfnlint"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('cfn-lint is not installed')\n")
    env = {**os.environ, "PYTHONPATH": str(shadow.parent)}

    bake = bake_cli(tmp_path / "out", env=env)

    assert bake.returncode == 0, bake.stderr
    assert "cfn-lint is not installed here; validate the stacks later with `make lint`" in bake.stdout


def test_baking_twice_is_idempotent(tmp_path):
    first = bake_cli(tmp_path / "a")
    second = bake_cli(tmp_path / "b")
    again = bake_cli(tmp_path / "b", flags=["--overwrite-if-exists"])  # hooks run again over it

    assert first.returncode == second.returncode == again.returncode == 0, again.stderr
    first_files = {p.relative_to(first.project): p.read_bytes() for p in first.project.rglob("*") if p.is_file()}
    again_files = {p.relative_to(again.project): p.read_bytes() for p in again.project.rglob("*") if p.is_file()}
    assert first_files == again_files
