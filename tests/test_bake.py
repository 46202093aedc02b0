"""Which answers bake, which are refused, and what a bake leaves on disk.

The hooks' checks run in-process, rendered with the answers cookiecutter would hand them
(conftest.answers_for, conftest.load_hook), over many cases; a few bakes through the real CLI
check the wiring: what a refused bake prints and leaves, and what a supported one writes.
"""

import json
import os
import re
import shlex
import site
import subprocess
import sys
import tempfile
from pathlib import Path

import cfnlint
import pytest
from bakery import (
    QUESTIONS,
    TEMPLATE,
    answers_for,
    bake_cli,
    bake_interactively,
    copy_template,
    load_hook,
    rendered_text_files,
)
from cfnlint.api import ManualArgs, lint_by_config
from cfnlint.decode import cfn_yaml
from cfnlint.helpers import REGIONS as CFN_LINT_REGIONS

REGIONS = QUESTIONS["aws_region"]
# Fargate's memory sizes in MiB for each cpu choice (Linux), from the table in
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size
TASK_SIZES = {
    "256": [512, 1024, 2048],
    "512": list(range(1024, 4096 + 1, 1024)),
    "1024": list(range(2048, 8192 + 1, 1024)),
    "2048": list(range(4096, 16384 + 1, 1024)),
    "4096": list(range(8192, 30720 + 1, 1024)),
    "8192": list(range(16384, 61440 + 1, 4096)),
    "16384": list(range(32768, 122880 + 1, 8192)),
}
CERTIFICATE = "arn:aws:acm:{region}:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
# 64 octets: ACM's limit on a certificate's DomainName.
DOMAIN_64 = "a" * 30 + "." + "b" * 29 + ".com"
DOMAIN_65 = "a" * 31 + "." + "b" * 29 + ".com"
DEFAULTS = answers_for()
PRE_GEN = load_hook("pre_gen_project", DEFAULTS)  # its checks take the answers as an argument


def refusals(**given):
    """The pre-gen hook's error lines for a bake with these answers, found in-process."""
    answers = answers_for(**given)
    hook = load_hook("pre_gen_project", answers)
    assert hook.ANSWERS == answers, "the rendered hook reads every answer back as data"
    return [line for _, line in hook.problems(answers)]


def assert_baked_cleanly(bake):
    assert bake.returncode == 0, bake.stderr
    project = bake.project
    for path in project.rglob("*"):
        assert "{{" not in str(path) and "{%" not in str(path), path
    for path, text in rendered_text_files(project):
        assert not re.search(r"\{\{-? *cookiecutter", text), f"unrendered answer in {path}"
        if "templates" not in path.parts:  # the Flask app's own Jinja pages keep their {% %}
            assert "{%" not in text, f"unrendered Jinja block in {path}"
    # Outside the folder the bake ran in (its PWD), the folder is named whole.
    assert f"  cd {project}\n" in bake.stdout, "the next steps name the new folder"


def recorded_answers(project):
    return json.loads((project / ".cookiecutter.json").read_text())["cookiecutter"]


def files(project):
    return {
        path.relative_to(project): path.read_bytes()
        for path in project.rglob("*")
        if path.is_file()
    }


SUPPORTED = [
    pytest.param({}, id="defaults"),
    pytest.param({"ssl": "no"}, id="ssl-off"),
    pytest.param({"dns": "external"}, id="dns-external"),
    pytest.param({"dns": "external", "ssl": "no"}, id="dns-external-ssl-off"),
    pytest.param(
        {"dns": "external", "certificate_arn": CERTIFICATE.format(region="eu-west-1")},
        id="dns-external-existing-certificate",
    ),
    pytest.param(
        {"ssl": "no", "nat_gateways": "none", "desired_count": "1", "max_count": "1"}, id="cheapest"
    ),
    pytest.param({"nat_gateways": "per_zone"}, id="nat-per-zone"),
    pytest.param(
        {
            "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
            "certificate_arn": CERTIFICATE.format(region="eu-west-1"),
        },
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
    pytest.param(
        {"domain": "xn--bcher-kva.example", "nat_gateways": "shared"}, id="punycode-domain"
    ),
    pytest.param({"domain": "1password.com"}, id="domain-starting-with-digit"),
    pytest.param({"domain": "a.b.c.d.example.co.uk", "domain_slug": "deep-site"}, id="own-slug"),
    pytest.param({"domain": DOMAIN_64}, id="domain-64-characters-with-certificate-requested"),
    pytest.param(
        {"domain": DOMAIN_65, "certificate_arn": CERTIFICATE.format(region="eu-west-1")},
        id="domain-65-characters-with-existing-certificate",
    ),
    # Fargate Spot runs ARM64 tasks too (since 2024-09), so every pair is supported.
    *[
        pytest.param(
            {"cpu_architecture": architecture, "capacity": capacity},
            id=f"{architecture}-{capacity}",
        )
        for architecture in QUESTIONS["cpu_architecture"]
        for capacity in QUESTIONS["capacity"]
    ],
    pytest.param(
        {"capacity": "mixed", "desired_count": "1", "max_count": "1"}, id="mixed-with-one-task"
    ),
    pytest.param(
        {"domain": ".".join(["a" * 60, "b" * 59]) + ".com", "ssl": "no"}, id="domain-124-characters"
    ),
    # A joining site takes every other answer as a site of its own does (NAT: the host's).
    pytest.param({"domain": "blog.example.org", "host_site": "example-com"}, id="joins-a-host"),
    pytest.param(
        {"host_site": "site-7seas-com", "ssl": "no", "dns": "external", "github_repo": "a/b"},
        id="joins-a-digit-first-host-without-https-dns-external-github",
    ),
]


@pytest.mark.parametrize("answers", SUPPORTED)
def test_supported_answers_pass_every_check(answers):
    assert refusals(**answers) == []


# Through the CLI, each switching files or Jinja branches the others leave alone. The stacks of
# further answers are baked and linted by test_stacks.py, test_regenerate.py and
# test_generated_suite.py, and in every region below.
BAKED = [
    pytest.param({}, id="defaults"),
    pytest.param(
        {"ssl": "no", "desired_count": "1", "max_count": "1", "nat_gateways": "shared"},
        id="ssl-off-one-task-nat-shared",
    ),
    pytest.param(
        {"github_repo": "acme/example.com-site", "dynamodb_access": "yes", "alarm_email": "a@b.co"},
        id="github-dynamodb-alarm-email",
    ),
    pytest.param(
        {
            "domain": DOMAIN_65,
            "domain_slug": "long-site",
            "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
            "certificate_arn": CERTIFICATE.format(region="eu-west-1"),
        },
        id="domain-65-own-slug-existing-zone-and-certificate",
    ),
]


@pytest.mark.parametrize("answers", BAKED)
def test_supported_answers_bake_cleanly(tmp_path, answers):
    bake = bake_cli(tmp_path, **answers)

    assert_baked_cleanly(bake)  # the post-gen hook failed it on any cfn-lint finding
    assert bake.project.name == answers_for(**answers)["domain_slug"]
    assert (bake.project / ".github").exists() == bool(answers.get("github_repo"))


@pytest.mark.parametrize("cpu", TASK_SIZES)
def test_memory_defaults_to_the_smallest_size_the_cpu_takes(cpu):
    """`--no-input cpu=1024` bakes: the memory default follows the cpu chosen."""
    answers = answers_for(cpu=cpu)

    assert answers["memory"] == str(TASK_SIZES[cpu][0])
    assert PRE_GEN.problems(answers) == []


def test_every_task_size_fargate_runs_is_taken_and_no_other():
    for cpu in [*TASK_SIZES, "128", "32768"]:
        for memory in range(0, 131072 + 1, 512):
            answers = {**DEFAULTS, "cpu": cpu, "memory": str(memory)}
            taken = PRE_GEN.problems(answers) == []
            assert taken == (memory in TASK_SIZES.get(cpu, [])), (cpu, memory)


def test_the_hook_takes_fargates_sizes_from_the_deploy_tool_in_the_checkout(monkeypatch):
    """One table for the hook and for the tool's `--set Cpu/Memory` checks."""
    from flask_fargate import fargate

    assert PRE_GEN.FARGATE_MEMORY is fargate.FARGATE_MEMORY
    # No folder of the template known (cruft from git where /proc does not show the folder
    # cookiecutter runs the hook from): the deploy tool checks the size (test_day_two.py).
    monkeypatch.setattr(os, "getppid", lambda: 1)  # a process whose folder is no template
    answers = {**DEFAULTS, "_repo_dir": "", "_template": "gh:acme/flask-fargate", "cpu": "128"}
    assert load_hook("pre_gen_project", answers).problems(answers) == []


def test_cpu_choices_name_the_memory_sizes_each_takes():
    """Prompts are not rendered (cookiecutter/prompt.py), so the memory hint sits beside each cpu."""
    labels = QUESTIONS["__prompts__"]["cpu"]
    for cpu, sizes in TASK_SIZES.items():
        label = labels[cpu]
        if len(sizes) == 3:
            assert label.endswith(f"memory {sizes[0]}, {sizes[1]} or {sizes[2]} MiB"), label
        else:
            step = sizes[1] - sizes[0]
            assert label.endswith(f"memory {sizes[0]} to {sizes[-1]} MiB in steps of {step}"), label


def test_the_service_stack_takes_the_cpus_counts_and_platforms_the_hook_takes(default_bake):
    parameters = cfn_yaml.load(str(default_bake / "cloudformation" / "service.yaml"))["Parameters"]
    cpus = [str(cpu) for cpu in PRE_GEN.FARGATE_MEMORY]

    assert parameters["Cpu"]["AllowedValues"] == cpus == QUESTIONS["cpu"]
    for count in ("DesiredCount", "MaxCount"):
        limits = parameters[count]["MinValue"], parameters[count]["MaxValue"]
        assert limits == (1, PRE_GEN.MAX_TASKS), count
    # The answers become these parameters' defaults: each choice is a value the stack takes.
    assert parameters["CpuArchitecture"]["AllowedValues"] == [
        architecture.upper() for architecture in PRE_GEN.ARCHITECTURE_CHOICES
    ]
    assert parameters["Capacity"]["AllowedValues"] == PRE_GEN.CAPACITY_CHOICES
    assert PRE_GEN.ARCHITECTURE_CHOICES == QUESTIONS["cpu_architecture"]
    assert PRE_GEN.CAPACITY_CHOICES == QUESTIONS["capacity"]


def test_a_user_who_picks_cpu_1024_and_presses_enter_gets_its_smallest_memory(tmp_path):
    bake = bake_interactively(tmp_path, domain="shop.example.org", cpu="1024")

    assert bake.returncode == 0, bake.stderr
    assert "3 - 1024 (1 vCPU): memory 2048 to 8192 MiB in steps of 1024" in bake.stdout
    assert "a size listed beside the chosen CPU (2048)" in " ".join(bake.stdout.split())
    assert recorded_answers(bake.project)["memory"] == "2048"


def test_choice_values_cannot_be_mistaken_for_option_numbers():
    """Typing `1` at a choice picks option 1; a value "1" meaning something else would be a trap."""
    for question, values in QUESTIONS.items():
        if isinstance(values, list):
            numbers = {str(n) for n in range(1, len(values) + 1)}
            assert not numbers & set(values), question


# Every option switched the other way from the default site's.
OTHER_WAY = {
    "ssl": "no",
    "nat_gateways": "per_zone",
    "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
    "alarm_email": "ops@example.com",
    "dynamodb_access": "yes",
    "github_repo": "acme/site",
}


@pytest.mark.parametrize("answers", [{}, OTHER_WAY], ids=["defaults", "every-option-other-way"])
def test_stacks_lint_clean_in_every_offered_region(tmp_path, answers):
    """One cfn-lint run over every region for a site, instead of a bake per region: the
    default site, and one with every option switched the other way (two tests, so that two
    workers share the slowest lint of the suite)."""
    bake = bake_cli(tmp_path, **answers)
    assert bake.returncode == 0, bake.stderr
    stacks = [str(path) for path in sorted(bake.project.glob("cloudformation/*.yaml"))]

    assert [
        str(match) for match in lint_by_config(ManualArgs(templates=stacks, regions=REGIONS))
    ] == []


def test_cfn_lint_knows_every_offered_region():
    """cfn-lint checks a region it has no specs for against us-east-1's; say which (README)."""
    assert set(REGIONS) <= set(CFN_LINT_REGIONS)
    providers = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"
    assert {region for region in REGIONS if not (providers / f"{region}.json").exists()} <= {
        "me-south-1"
    }


def test_default_is_no_nat_gateway(default_bake):
    assert recorded_answers(default_bake)["nat_gateways"] == "none"
    resources = (default_bake / "cloudformation" / "resources.yaml").read_text()
    assert re.search(r"^  NatGateways:\n(?:    .*\n)*?    Default: \"0\"$", resources, re.MULTILINE)


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
    # www.<domain> in a listener rule's host-header value: 128 characters at most.
    ("domain-125-characters", {"domain": ".".join(["a" * 60] * 2) + ".com"}, "domain"),
    ("domain-numeric-tld", {"domain": "10.0.0.1"}, "domain"),
    ("domain-65-characters-with-certificate-requested", {"domain": DOMAIN_65}, "domain"),
    ("domain-with-space", {"domain": "my site.com"}, "domain"),
    ("domain-quote", {"domain": 'a".com'}, "domain"),
    ("domain-closing-the-hooks-quotes", {"domain": "x''');import os#.com"}, "domain"),
    ("slug-double-hyphen", {"domain_slug": "my--site"}, "domain_slug"),
    ("slug-starts-with-digit", {"domain_slug": "1site"}, "domain_slug"),
    ("slug-uppercase", {"domain_slug": "Site"}, "domain_slug"),
    ("slug-64-characters", {"domain_slug": "a" * 64}, "domain_slug"),
    ("memory-too-small-for-cpu", {"cpu": "1024", "memory": "1024"}, "memory"),
    ("memory-off-step", {"cpu": "8192", "memory": "20000"}, "memory"),
    ("memory-not-a-number", {"memory": "lots"}, "memory"),
    ("memory-in-gib", {"memory": "0.5"}, "memory"),
    ("desired-zero", {"desired_count": "0"}, "desired_count"),
    ("desired-not-whole", {"desired_count": "1.5"}, "desired_count"),
    ("desired-words", {"desired_count": "two"}, "desired_count"),
    ("max-below-desired", {"desired_count": "3", "max_count": "2"}, "max_count"),
    ("max-too-large", {"max_count": "5001"}, "max_count"),
    ("zone-id-lowercase", {"hosted_zone_id": "z123abc"}, "hosted_zone_id"),
    ("zone-id-with-prefix", {"hosted_zone_id": "/hostedzone/Z123ABC"}, "hosted_zone_id"),
    (
        "zone-id-with-dns-external",
        {"dns": "external", "hosted_zone_id": "Z0123456789ABCDEFGHIJ"},
        "hosted_zone_id",
    ),
    (
        "certificate-malformed",
        {"certificate_arn": "arn:aws:acm:eu-west-1:123:certificate/x"},
        "certificate_arn",
    ),
    (
        "certificate-other-region",
        {"certificate_arn": CERTIFICATE.format(region="us-east-1")},
        "certificate_arn",
    ),
    (
        "certificate-without-ssl",
        {"ssl": "no", "certificate_arn": CERTIFICATE.format(region="eu-west-1")},
        "certificate_arn",
    ),
    ("email-without-domain", {"alarm_email": "ops@"}, "alarm_email"),
    ("email-two-addresses", {"alarm_email": "a@example.com,b@example.com"}, "alarm_email"),
    ("email-markdown", {"alarm_email": "*ops*@example.com"}, "alarm_email"),
    ("github-no-owner", {"github_repo": "site"}, "github_repo"),
    ("github-url", {"github_repo": "https://github.com/acme/site"}, "github_repo"),
    ("github-dot-dot", {"github_repo": "acme/.."}, "github_repo"),
    ("host-site-a-domain", {"host_site": "example.com"}, "host_site"),
    ("host-site-uppercase", {"host_site": "Example-com"}, "host_site"),
    (
        "host-site-itself",
        {"domain": "blog.example.org", "host_site": "blog-example-org"},
        "host_site",
    ),
    (
        "host-site-with-nat-gateways",
        {"domain": "blog.example.org", "host_site": "example-com", "nat_gateways": "shared"},
        "nat_gateways",
    ),
]


@pytest.mark.parametrize(
    ("answers", "question"), [pytest.param(a, q, id=i) for i, a, q in UNSUPPORTED]
)
def test_unsupported_answers_are_refused(answers, question):
    (error,) = refusals(**answers)

    assert error.startswith(f"{question}: {json.dumps(answers[question])} is not allowed; ")


# A choice or yes/no answer given on the command line is checked by cookiecutter itself.
REFUSED_BY_COOKIECUTTER = [
    ("cpu-not-a-choice", {"cpu": "300"}, "cpu"),
    ("region-not-a-choice", {"aws_region": "mars-north-1"}, "aws_region"),
    ("nat-not-a-choice", {"nat_gateways": "3"}, "nat_gateways"),
    ("nat-former-number", {"nat_gateways": "1"}, "nat_gateways"),
    ("python-not-a-choice", {"python_version": "3.11"}, "python_version"),
    ("architecture-not-a-choice", {"cpu_architecture": "aarch64"}, "cpu_architecture"),
    ("capacity-not-a-choice", {"capacity": "spot_only"}, "capacity"),
    ("ssl-not-a-boolean", {"ssl": "maybe"}, "ssl"),
    ("dns-not-a-choice", {"dns": "cloudflare"}, "dns"),
]


@pytest.mark.parametrize(
    ("answers", "question"), [pytest.param(a, q, id=i) for i, a, q in REFUSED_BY_COOKIECUTTER]
)
def test_cookiecutter_refuses_other_choices_itself(answers, question):
    with pytest.raises(ValueError, match=rf"\b{question}\b"):
        answers_for(**answers)


def test_a_replayed_github_subject_outside_the_choices_is_refused_naming_them():
    """A replayed .cookiecutter.json skips cookiecutter's choice check: the hook has its own."""
    answers = {**DEFAULTS, "github_repo": "acme/site", "github_subject": "immutable"}
    assert PRE_GEN.problems(answers) == [
        ("github_subject", 'github_subject: "immutable" is not allowed; expected ids or names')
    ]


def test_a_replayed_dns_answer_outside_the_choices_is_refused_naming_them():
    """A replayed .cookiecutter.json skips cookiecutter's choice check: the hook has its own."""
    assert PRE_GEN.problems({**DEFAULTS, "dns": "Route53"}) == [
        ("dns", 'dns: "Route53" is not allowed; expected route53 or external')
    ]


@pytest.mark.parametrize(("number", "word"), [("0", "none"), ("1", "shared"), ("2", "per_zone")])
def test_a_replayed_nat_number_is_refused_naming_the_words(number, word):
    """A replayed .cookiecutter.json skips cookiecutter's choice check: the hook has its own."""
    ((question, error),) = PRE_GEN.problems({**DEFAULTS, "nat_gateways": number})

    assert question == "nat_gateways"
    assert error.endswith("(the earlier 0, 1 and 2 are none, shared and per_zone)")
    assert PRE_GEN.problems({**DEFAULTS, "nat_gateways": word}) == []


@pytest.mark.parametrize(
    ("question", "value"),
    [("cpu_architecture", "ARM64"), ("capacity", "on-demand"), ("deploy_strategy", "BLUE_GREEN")],
)
def test_a_replayed_platform_answer_outside_the_choices_is_refused_naming_them(question, value):
    """A replayed .cookiecutter.json skips cookiecutter's choice check: the hook has its own."""
    ((named, error),) = PRE_GEN.problems({**DEFAULTS, question: value})

    assert named == question
    assert error == (
        f"{question}: {json.dumps(value)} is not allowed; expected {', '.join(QUESTIONS[question])}"
    )


def test_problems_come_in_the_order_of_the_questions():
    answers = {
        **DEFAULTS,
        "github_repo": "x",
        "alarm_email": "nobody",
        "desired_count": "0",
        "memory": "3",
        "domain": "Not A Domain",
    }

    assert [question for question, _ in PRE_GEN.problems(answers)] == [
        "domain",
        "memory",
        "desired_count",
        "alarm_email",
        "github_repo",
    ]


def test_domain_too_long_for_a_certificate_names_the_limit_and_the_ways_out():
    (error,) = refusals(domain=DOMAIN_65)

    assert error == (
        f'domain: "{DOMAIN_65}" is not allowed; ACM certificates take a domain name of at most '
        "64 characters and this one has 65: give the certificate_arn of an existing certificate "
        "for it, or a shorter apex"
    )


def test_every_problem_is_reported_at_once_and_nothing_is_left(tmp_path):
    bake = bake_cli(
        tmp_path,
        domain="Not A Domain",
        memory="3",
        desired_count="0",
        github_repo="x",
        alarm_email="nobody",
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


def command_to_bake_again(stderr):
    lines = stderr.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("To bake again"))
    return lines[index], shlex.split(lines[index + 1])


# A shell whose PATH holds no cookiecutter of the Python running the tests: the printed command
# must then name that Python.
SHELL_WITHOUT_COOKIECUTTER = {**os.environ, "PATH": os.defpath}


def test_a_refused_bake_prints_the_command_that_bakes_again_with_every_answer(tmp_path):
    """Printed as a shell without `cookiecutter` on PATH can run it, and run as printed."""
    given = {
        "domain": "shop.example.org",
        "cpu": "1024",
        "memory": "3",
        "nat_gateways": "shared",
        "ssl": "no",
    }
    refused = bake_cli(tmp_path, env=SHELL_WITHOUT_COOKIECUTTER, **given)

    assert refused.returncode == 1
    hint, command = command_to_bake_again(refused.stderr)
    assert hint == "To bake again with your other answers, correct memory (at the end) in:"
    assert command[:5] == [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input"]
    pairs = command[command.index(str(tmp_path)) + 1 :]
    assert pairs[-1] == "memory=3", "the wrong answer comes last"
    assert set(pairs) >= {"domain=shop.example.org", "cpu=1024", "nat_gateways=shared", "ssl=no"}
    assert {pair.split("=")[0] for pair in pairs} == {
        key for key in QUESTIONS if not key.startswith("_")
    }

    pairs[-1] = "memory=4096"  # the user's correction
    again = subprocess.run(
        [*command[: -len(pairs)], *pairs],
        env=SHELL_WITHOUT_COOKIECUTTER,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    answers = recorded_answers(tmp_path / "shop-example-org")
    assert {key: answers[key] for key in given} == {**given, "memory": "4096", "ssl": False}


def test_the_command_begins_with_cookiecutter_where_that_name_runs_the_same_one(tmp_path):
    shell = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.defpath])}

    refused = bake_cli(tmp_path, env=shell, memory="3")

    assert command_to_bake_again(refused.stderr)[1][:2] == ["cookiecutter", str(TEMPLATE)]


def pipx_run_environment(folder, spec):
    """A Python environment as `pipx run` leaves it: a venv in pipx's .cache, named by a hash,
    with pipx's pipx_metadata.json; it imports this Python's packages (cookiecutter) by a .pth."""
    venv = folder / "pipx" / ".cache" / "0123456789abcde"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv / "pipx_metadata.json").write_text(
        json.dumps({"main_package": {"package": "cookiecutter", "package_or_url": spec}})
    )
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (venv / "lib" / version / "site-packages" / "this-python.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
    )
    return venv


def test_under_pipx_run_the_command_begins_with_pipx_run_cookiecutter(tmp_path):
    """`pipx run cookiecutter` puts no cookiecutter on PATH: the command runs it the same way."""
    pipx = pipx_run_environment(tmp_path, "cookiecutter")

    refused = subprocess.run(
        [pipx / "bin" / "python", "-m", "cookiecutter", TEMPLATE, "--no-input", "memory=3"],
        cwd=tmp_path,
        env={**SHELL_WITHOUT_COOKIECUTTER, "PWD": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert refused.returncode == 1, refused.stderr
    command = command_to_bake_again(refused.stderr)[1]
    assert command[:5] == ["pipx", "run", "cookiecutter", str(TEMPLATE), "--no-input"]


def test_under_pipx_run_of_a_pinned_version_the_command_pins_it_too(tmp_path, monkeypatch):
    pipx = pipx_run_environment(tmp_path, "cookiecutter==2.7.1")
    monkeypatch.setattr(sys, "prefix", str(pipx))
    monkeypatch.setenv("PATH", os.defpath)

    assert PRE_GEN.run_as_it_ran("cookiecutter") == [
        "pipx",
        "run",
        "--spec",
        "cookiecutter==2.7.1",
        "cookiecutter",
    ]


def test_a_host_site_given_as_a_domain_is_refused_naming_the_slug_meant(tmp_path):
    refused = bake_cli(tmp_path, domain="blog.example.org", host_site="7seas.com")

    assert refused.returncode == 1
    assert (
        'error: host_site: "7seas.com" is not allowed; expected the domain_slug of the site to '
        "join, not its domain (the site made for 7seas.com is site-7seas-com unless given a slug "
        "of its own)\n"
    ) in refused.stderr


def test_a_choice_outside_the_list_ends_in_the_line_the_readme_quotes(tmp_path):
    """cookiecutter refuses it before any hook runs, as a traceback: the README says why and
    quotes its last line, which names the answer, the value and the choices."""
    refused = bake_cli(tmp_path, cpu="300")

    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert last == (
        f"ValueError: 300 provided for choice variable cpu, but the choices are {QUESTIONS['cpu']}."
    )
    assert f"\n{last}\n" in (TEMPLATE / "README.md").read_text()
    assert list(tmp_path.iterdir()) == []


def bake_again(answers, wrong):
    """The command the pre-gen hook prints for these answers, split as a shell splits it."""
    folder = Path(answers["_output_dir"], answers["domain_slug"])
    return shlex.split(PRE_GEN.bake_again(answers, wrong, folder))


def test_the_command_names_the_output_folder_only_when_the_shell_is_elsewhere(
    tmp_path, monkeypatch
):
    answers = answers_for(memory="3")  # its output folder: the current one
    monkeypatch.setenv("PWD", os.getcwd())
    here = bake_again(answers, ["memory"])
    monkeypatch.setenv("PWD", str(tmp_path))
    elsewhere = bake_again(answers, ["memory"])

    assert "--output-dir" not in here
    options = elsewhere.index("--no-input") + 1
    assert elsewhere[options : options + 2] == ["--output-dir", answers["_output_dir"]]


def test_a_wrong_domain_is_retyped_without_the_slug_made_from_it():
    command = bake_again(answers_for(domain="Shop.example.org"), ["domain"])

    assert command[-1] == "domain=Shop.example.org"
    assert not [part for part in command if part.startswith("domain_slug=")]


def test_under_cruft_create_the_command_is_cruft_create_with_every_answer(monkeypatch):
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # where this cruft is
    answers = {**answers_for(memory="3"), "_commit": "0" * 40}

    command = bake_again(answers, ["memory"])

    assert command[:5] == ["cruft", "create", str(TEMPLATE), "--no-input", "--extra-context"]
    given = json.loads(command[5])
    assert list(given)[-1] == "memory"
    assert given == {key: value for key, value in answers.items() if not key.startswith("_")}


@pytest.mark.parametrize("hook", ["pre_gen_project", "post_gen_project"])
def test_the_hooks_know_a_folder_cruft_renders_only_to_compare(hook, tmp_path):
    """cruft update and diff render into a tempfile.TemporaryDirectory(): tmp + 8 characters."""
    made_by_cruft_to_compare = load_hook(hook, DEFAULTS).made_by_cruft_to_compare
    cruft = {**DEFAULTS, "_commit": "0" * 40}
    compared = Path(tempfile.gettempdir()).resolve() / "tmpa1b2_c3d" / "example-com"

    assert made_by_cruft_to_compare(cruft, compared)
    assert not made_by_cruft_to_compare(DEFAULTS, compared), "cookiecutter, not cruft"
    assert not made_by_cruft_to_compare(cruft, tmp_path / "example-com"), "cruft create"


def test_a_refused_interactive_bake_keeps_what_was_typed(tmp_path):
    """A typo in the first answer, noticed after the fifteenth: nothing needs typing again."""
    bake = bake_interactively(
        tmp_path, domain="shop.example,org", cpu="2048", nat_gateways="per_zone"
    )

    assert bake.returncode == 1
    hint, command = command_to_bake_again(bake.stderr)
    assert "correct domain (at the end)" in hint
    assert {"cpu=2048", "memory=4096", "nat_gateways=per_zone"} <= set(command)
    assert command[-1] == "domain=shop.example,org"
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


@pytest.mark.parametrize(("github_repo", "kept"), [("", False), ("acme/site", True)])
def test_workflows_are_kept_only_with_a_github_repository(tmp_path, github_repo, kept):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    answers = {**DEFAULTS, "github_repo": github_repo}

    load_hook("post_gen_project", answers).remove_disabled_options(answers, tmp_path)

    assert (tmp_path / ".github").exists() == kept


def test_next_steps_name_the_folder_and_ask_for_git_init_only_outside_a_repository(
    tmp_path, monkeypatch
):
    hook = load_hook("post_gen_project", DEFAULTS)
    outside, inside = tmp_path / "outside" / "example-com", tmp_path / "repository" / "example-com"
    for folder in (outside, inside):
        folder.mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", str(inside.parent)], check=True)
    git_init = 'git init && git add -A && git commit -m "First version"'

    monkeypatch.setenv("PWD", str(outside.parent))  # the shell is where the folder was made
    assert "\n  cd example-com\n" in hook.next_steps(DEFAULTS, outside)
    assert git_init in hook.next_steps(DEFAULTS, outside)
    assert git_init not in hook.next_steps(DEFAULTS, inside)


BROKEN_STACK = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      NoSuchProperty: true
"""


def test_lint_findings_are_lines_naming_file_line_and_rule(tmp_path):
    (tmp_path / "cloudformation").mkdir()
    (tmp_path / "cloudformation" / "broken.yaml").write_text(BROKEN_STACK)

    findings = load_hook("post_gen_project", DEFAULTS).lint_cloudformation(tmp_path, "eu-west-1")

    assert [line.split(" ")[:2] for line in findings] == [["cloudformation/broken.yaml:6", "E3002"]]


def test_lint_is_skipped_where_cfn_lint_is_not_installed(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cfnlint.api", None)  # any import of it fails

    assert (
        load_hook("post_gen_project", DEFAULTS).lint_cloudformation(tmp_path, "eu-west-1") is None
    )


def test_lint_findings_fail_the_bake_and_remove_the_folder(tmp_path):
    template = copy_template(tmp_path / "template")
    (template / "{{cookiecutter.domain_slug}}" / "cloudformation" / "broken.yaml").write_text(
        BROKEN_STACK
    )

    bake = bake_cli(tmp_path / "out", template=template)

    assert bake.returncode != 0
    assert re.search(r"cloudformation/broken\.yaml:6 E3002 ", bake.stderr), bake.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_bake_without_cfn_lint_warns_and_succeeds(tmp_path):
    """Users running `pipx run cookiecutter` have no cfn-lint: say how to validate later."""
    shadow = tmp_path / "shadow" / "cfnlint"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('cfn-lint is not installed')\n")
    env = {**os.environ, "PYTHONPATH": str(shadow.parent)}

    bake = bake_cli(tmp_path / "out", env=env)

    assert bake.returncode == 0, bake.stderr
    assert (
        "cfn-lint is not installed here; validate the stacks later with `make lint`" in bake.stdout
    )


def test_baking_again_over_a_site_changes_nothing(tmp_path):
    first = bake_cli(tmp_path)
    assert first.returncode == 0, first.stderr
    before = files(first.project)

    again = bake_cli(tmp_path, flags=["--overwrite-if-exists"])  # the hooks run again over it

    assert again.returncode == 0, again.stderr
    assert files(again.project) == before


def test_a_joining_site_with_dns_elsewhere_rehearses_on_the_hosts_served_stand_in(tmp_path):
    """Its rehearsal creates its records in the served stand-in's public DNS (tests/tool/
    test_served_external_dns.py): `make rehearse` runs the tool with --endpoint-url, and the
    README says to rehearse with the host, as for a site whose DNS is in Route 53."""
    bake = bake_cli(tmp_path, dns="external", domain="blog.example.org", host_site="example-com")
    assert bake.returncode == 0, bake.stderr
    shared = "--endpoint-url=http://127.0.0.1:9"
    rehearsing = subprocess.run(
        ["make", "--dry-run", "rehearse", f"ARGS={shared}"],
        cwd=bake.project,
        capture_output=True,
        text=True,
        check=False,
    )

    assert rehearsing.returncode == 0, rehearsing.stderr
    assert f"rehearse {shared}" in rehearsing.stdout
    readme = " ".join((bake.project / "README.md").read_text().split())
    assert (
        "To rehearse them together, `make rehearse ARGS=--serve` in the host's folder, then "
        "`make rehearse ARGS=--endpoint-url=<address>` there and here." in readme
    )


def test_the_dynamodb_prompt_and_the_readme_name_the_tables_the_task_role_may_use(default_bake):
    """Prompts are not rendered: `<domain_slug>` stands where the service template puts the slug
    in DynamoDbTablePrefix, whose tables (with a trailing *) the task role's policy names."""
    service = cfn_yaml.load(str(default_bake / "cloudformation" / "service.yaml"))
    prefix = service["Parameters"]["DynamoDbTablePrefix"]["Default"]
    named = prefix.replace(DEFAULTS["domain_slug"], "<domain_slug>") + "*"
    (statement,) = service["Resources"]["DynamoDbPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    readme_row = next(
        line
        for line in (TEMPLATE / "README.md").read_text().splitlines()
        if line.startswith("| `dynamodb_access` |")
    )

    assert named == "<domain_slug>.*"
    assert f"tables named {named} " in QUESTIONS["__prompts__"]["dynamodb_access"]
    assert f"tables named `{named}`" in readme_row
    for action in statement["Action"]:
        assert f"`{action.removeprefix('dynamodb:')}`" in readme_row, action
