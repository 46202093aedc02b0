"""Property tests over the domain answer: every DNS name is taken and names the site after its
first label, any other text is refused in one line; in-process, over many examples. A few valid
names are also baked through the CLI, where the post-gen hook lints their stacks."""

import json
import re
import shlex
from pathlib import Path

import pytest
from bakery import answers_for, bake_cli, load_hook, rendered_text_files
from cfnlint.decode import cfn_yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slugify import slugify

LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True)
TOP_LEVEL = st.from_regex(r"[a-z]{2,12}|xn--[a-z0-9]{2,20}", fullmatch=True)
DNS_NAMES = st.builds(
    lambda labels, top: ".".join([*labels, top]), st.lists(LABEL, min_size=1, max_size=4), TOP_LEVEL
).filter(lambda name: len(name) <= 124)  # www.<domain> fits a host-header value (128)
# cookiecutter itself renders every answer as a Jinja template, so `{{`, `{%` and `{#` in an answer
# are cookiecutter's syntax, not ours (see README).
ANY_TEXT = st.text(max_size=60).filter(lambda text: not re.search(r"\{[{%#]", text))
# ACM takes at most 64 characters in a certificate's DomainName: a longer apex needs a certificate
# of its own (test_bake.py has the refusal).
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
IN_PROCESS = settings(max_examples=150, deadline=None)


def certificate_for(domain):
    return CERTIFICATE if len(domain) > 64 else ""


def named_after_the_first_label(domain, slug):
    """The folder and stacks are named after the domain's first label, however long it is."""
    return slug.removeprefix("site-").startswith(slugify(domain.split(".")[0])[:50])


@pytest.fixture(scope="module")
def stack_domain_pattern(default_bake):
    """What the resources stack's DomainName parameter allows (its default is the answer)."""
    template = cfn_yaml.load(str(default_bake / "cloudformation" / "resources.yaml"))
    return re.compile(template["Parameters"]["DomainName"]["AllowedPattern"])


@IN_PROCESS
@given(domain=DNS_NAMES)
@example(domain="a" * 60 + ".com")  # a first label longer than a slug: it was dropped once
def test_every_dns_name_is_taken_and_names_the_site(stack_domain_pattern, domain):
    answers = answers_for(domain=domain, certificate_arn=certificate_for(domain))

    assert load_hook("pre_gen_project", answers).problems(answers) == []
    assert stack_domain_pattern.fullmatch(domain)
    assert named_after_the_first_label(domain, answers["domain_slug"]), answers["domain_slug"]


@IN_PROCESS
@given(text=ANY_TEXT)
def test_any_other_text_is_refused_in_one_line_read_as_data(stack_domain_pattern, text):
    answers = answers_for(domain=text)
    domain = answers["domain"]  # as cookiecutter rendered it (Jinja turns \r into \n, say)
    hook = load_hook("pre_gen_project", answers)
    problems = hook.problems(answers)

    assert hook.ANSWERS == answers
    if problems:
        ((question, error),) = problems
        assert question == "domain"
        assert error.startswith(f"domain: {json.dumps(domain)} is not allowed; ")
        assert "\n" not in error
        command = shlex.split(hook.bake_again(answers, ["domain"], Path.cwd()))
        assert command[-1] == f"domain={domain}", "the command to bake again keeps the text"
    else:
        assert stack_domain_pattern.fullmatch(domain)


@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(domain=DNS_NAMES)
@example(domain="a" * 60 + ".com")
def test_dns_names_bake_lint_clean(tmp_path_factory, domain):
    output = tmp_path_factory.mktemp("dns")
    bake = bake_cli(output, domain=domain, certificate_arn=certificate_for(domain))

    assert bake.returncode == 0, bake.stderr  # the post-gen hook fails it on any cfn-lint finding
    for path, text in rendered_text_files(bake.project):
        assert not re.search(r"\{\{-? *cookiecutter", text), path
    assert named_after_the_first_label(domain, bake.project.name), bake.project.name
