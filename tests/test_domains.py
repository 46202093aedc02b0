"""Property tests over the domain answer: valid names bake lint-clean, anything else is refused."""

import re

from conftest import bake_cli, rendered_text_files
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slugify import slugify

LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True)
TOP_LEVEL = st.from_regex(r"[a-z]{2,12}|xn--[a-z0-9]{2,20}", fullmatch=True)
DNS_NAMES = st.builds(
    lambda labels, top: ".".join([*labels, top]), st.lists(LABEL, min_size=1, max_size=4), TOP_LEVEL
).filter(lambda name: len(name) <= 249)

# cookiecutter itself renders every answer as a Jinja template, so `{{`, `{%` and `{#` in an answer
# are cookiecutter's syntax, not ours (see README). NUL and lone surrogates cannot be passed in argv.
ANY_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=60
).filter(lambda text: not re.search(r"\{[{%#]", text))
SLOW_BAKES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
# ACM takes at most 64 characters in a certificate's DomainName: a longer apex needs a certificate
# of its own (test_bake.py has the refusal).
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def assert_clean_project(bake):
    for path, text in rendered_text_files(bake.project):
        assert not re.search(r"\{\{-? *cookiecutter", text), path


@settings(max_examples=12, deadline=None, suppress_health_check=SLOW_BAKES)
@given(domain=DNS_NAMES)
@example(domain="a" * 60 + ".com")  # a first label longer than a slug: it was dropped once
def test_every_valid_dns_name_bakes_lint_clean(tmp_path_factory, domain):
    certificate = CERTIFICATE if len(domain) > 64 else ""
    bake = bake_cli(tmp_path_factory.mktemp("dns"), domain=domain, certificate_arn=certificate)

    assert bake.returncode == 0, (
        bake.stderr
    )  # the post-gen hook fails the bake on any cfn-lint finding
    assert_clean_project(bake)
    # The folder and stacks are named after the domain's first label, however long it is.
    first_label = slugify(domain.split(".")[0])
    assert bake.project.name.removeprefix("site-").startswith(first_label[:50]), bake.project.name


@settings(max_examples=25, deadline=None, suppress_health_check=SLOW_BAKES)
@given(domain=ANY_TEXT)
def test_any_text_is_refused_with_a_message_or_bakes_clean(tmp_path_factory, domain):
    output = tmp_path_factory.mktemp("text")
    bake = bake_cli(output, domain=domain)

    if bake.returncode == 0:
        assert_clean_project(bake)
    else:
        assert re.search(r"^error: domain: ", bake.stderr, re.MULTILINE), bake.stderr
        assert list(output.iterdir()) == []
