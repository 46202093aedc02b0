"""Reject answers that would produce a site AWS cannot run, before anything is written.

Every answer arrives as JSON data (`tojson`), never as Python source, so no answer can change
what this script does. All problems are reported at once, one line each, then the command that
bakes again with every other answer kept, and exit 1; cookiecutter removes the half-made project
folder. Importing the rendered script runs nothing: the template's tests call its functions.
"""

import json
import os
import re
import shlex
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')  # fmt: skip
# The questions as cookiecutter.json asks them, domain_slug's rule unrendered; cookiecutter hands
# hooks this copy (main.py: context['_cookiecutter']), cruft does not.
QUESTIONS = json.loads(r'''{{ _cookiecutter | default({}) | tojson }}''')  # fmt: skip

# ECS runs at most 5000 tasks per service ("Tasks per service" in
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html).
MAX_TASKS = 5000
# The site's listener rule matches www.<domain> by host header, a value of at most 128
# characters (HostHeaderConditionConfig in the Elastic Load Balancing API Reference:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HostHeaderConditionConfig.html),
# so the apex is 4 shorter.
MAX_DOMAIN_LENGTH = 128 - len("www.")
# ACM takes at most 64 octets in a certificate's first name, its DomainName (DomainName in
# https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html); the stack asks
# for one named after the apex.
MAX_CERTIFICATE_DOMAIN_LENGTH = 64

DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# At least two labels; the last one (the TLD) is never all digits.
DOMAIN = re.compile(rf"(?:{DNS_LABEL}\.)+(?=[a-z0-9-]*[a-z])(?:{DNS_LABEL})")
# Names stacks (must start with a letter), the ECR repository (no double hyphen) and exports.
SLUG = re.compile(r"[a-z](?:-?[a-z0-9])*")
MAX_SLUG_LENGTH = 63
# The nat_gateways choices of cookiecutter.json, in its order.
NAT_CHOICES = ["none", "shared", "per_zone"]
# The cpu_architecture and capacity choices of cookiecutter.json, in its order. Every pair is a
# site AWS runs: Fargate Spot takes ARM64 tasks too, on platform version 1.4.0 (since 2024-09;
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html).
ARCHITECTURE_CHOICES = ["x86_64", "arm64"]
CAPACITY_CHOICES = ["on_demand", "spot", "mixed"]
# The dns choices of cookiecutter.json, in its order.
DNS_CHOICES = ["route53", "external"]
# The deploy_strategy choices of cookiecutter.json, in its order.
DEPLOY_STRATEGY_CHOICES = ["rolling", "blue_green", "canary", "linear"]
HOSTED_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,31}")
CERTIFICATE_ARN = re.compile(
    r"arn:aws:acm:(?P<region>[a-z0-9-]+):[0-9]{12}:certificate/[0-9a-f-]{36}"
)
EMAIL = re.compile(rf"[A-Za-z0-9._%+-]+@{DOMAIN.pattern}", re.IGNORECASE | re.ASCII)
# The github_subject choices of cookiecutter.json, in its order.
GITHUB_SUBJECT_CHOICES = ["ids", "names"]
GITHUB_REPO = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/(?!\.\.?$)[A-Za-z0-9._-]{1,100}")


def checkout_of(answers):
    """The folder of the template being rendered, absolute: `_repo_dir` when cookiecutter says it
    (relative to the shell's PWD under `cookiecutter .`); else, on Linux, the folder of the
    process that started this hook, which cruft does not name: cookiecutter runs each hook from
    within that folder (`work_in(repo_dir)`, cookiecutter/hooks.py run_hook_from_repo_dir), the
    clone at the commit rendered; else a local `_template`, as it is now. None when none of them
    is a template. post_gen_project.py imports the tool's cost module from the first and the
    last (a hook cannot import the other)."""
    candidates = []
    if answers.get("_repo_dir"):
        shell = Path(os.environ.get("PWD", "."))
        candidates.append(shell / Path(answers["_repo_dir"]).expanduser())
    candidates.append(Path(f"/proc/{os.getppid()}/cwd"))
    if answers.get("_template"):
        candidates.append(Path(answers["_template"]).expanduser())
    for candidate in candidates:
        try:
            if (candidate / "cookiecutter.json").is_file():
                return candidate.resolve()
        except OSError:  # another user's process, or no /proc
            continue
    return None


def fargate_memory(answers):
    """Fargate's task sizes, from the deploy tool in the template's checkout (src/flask_fargate/
    fargate.py: one table for the hook and for the tool's --set checks); None without one (cruft
    from git on macOS), where the deploy tool's `plan` and `up` refuse the size before any change
    (cfn-lint does not: it leaves a Memory given by a parameter's default unchecked)."""
    checkout = checkout_of(answers)
    if checkout is None or not (checkout / "src" / "flask_fargate" / "fargate.py").is_file():
        return None
    sys.dont_write_bytecode = True  # no __pycache__ left in the template's checkout
    sys.path.insert(0, str(checkout / "src"))
    from flask_fargate.fargate import FARGATE_MEMORY

    return FARGATE_MEMORY


FARGATE_MEMORY = fargate_memory(ANSWERS)


def problem(question, value, allowed):
    return question, f"{question}: {json.dumps(value)} is not allowed; {allowed}"


def check_domain(answers):
    domain = answers["domain"]
    if len(domain) > MAX_DOMAIN_LENGTH or not DOMAIN.fullmatch(domain):
        yield problem(
            "domain",
            domain,
            "expected a lowercase DNS name of two or more labels such as example.com "
            "(letters, digits and inner hyphens, labels of 1 to 63 characters, "
            f"at most {MAX_DOMAIN_LENGTH} characters in all)",
        )
    elif (
        answers["ssl"]
        and not answers["certificate_arn"]
        and len(domain) > MAX_CERTIFICATE_DOMAIN_LENGTH
    ):
        yield problem(
            "domain",
            domain,
            f"ACM certificates take a domain name of at most {MAX_CERTIFICATE_DOMAIN_LENGTH} "
            f"characters and this one has {len(domain)}: give the certificate_arn of an existing "
            "certificate for it, or a shorter apex",
        )


def check_domain_slug(answers):
    slug = answers["domain_slug"]
    if len(slug) > MAX_SLUG_LENGTH or not SLUG.fullmatch(slug):
        yield problem(
            "domain_slug",
            slug,
            "expected lowercase letters, digits and single hyphens, starting with a letter, "
            f"at most {MAX_SLUG_LENGTH} characters (it names the stacks and the ECR repository)",
        )


def whole_number(text):
    return int(text) if re.fullmatch(r"[0-9]{1,9}", str(text)) else None


def check_task_size(answers):
    if FARGATE_MEMORY is None:
        return
    cpu, memory = whole_number(answers["cpu"]), whole_number(answers["memory"])
    allowed = FARGATE_MEMORY.get(cpu)
    if allowed is None:
        yield problem(
            "cpu", answers["cpu"], f"expected one of {', '.join(map(str, FARGATE_MEMORY))}"
        )
    elif memory not in allowed:
        yield problem(
            "memory",
            answers["memory"],
            f"Fargate runs cpu {cpu} with memory {allowed[0]} to {allowed[-1]} MiB "
            f"({', '.join(map(str, allowed))})",
        )


def check_task_platform(answers):
    """Choices replayed from a .cookiecutter.json are not checked by cookiecutter (see
    check_nat_gateways)."""
    for question, choices in (
        ("cpu_architecture", ARCHITECTURE_CHOICES),
        ("capacity", CAPACITY_CHOICES),
    ):
        if answers[question] not in choices:
            yield problem(question, answers[question], f"expected {', '.join(choices)}")


def check_counts(answers):
    desired, most = whole_number(answers["desired_count"]), whole_number(answers["max_count"])
    if desired is None or not 1 <= desired <= MAX_TASKS:
        yield problem(
            "desired_count",
            answers["desired_count"],
            f"expected a whole number from 1 to {MAX_TASKS}",
        )
    if most is None or not 1 <= most <= MAX_TASKS:
        yield problem(
            "max_count", answers["max_count"], f"expected a whole number from 1 to {MAX_TASKS}"
        )
    elif desired is not None and most < desired:
        yield problem(
            "max_count", answers["max_count"], f"expected at least desired_count ({desired})"
        )


def check_hosted_zone_id(answers):
    zone = answers["hosted_zone_id"]
    if zone and not HOSTED_ZONE_ID.fullmatch(zone):
        yield problem(
            "hosted_zone_id",
            zone,
            "expected empty or a Route 53 zone id such as Z0123456789ABCDEFGHIJ",
        )


def check_dns(answers):
    """A choice replayed from a .cookiecutter.json is not checked by cookiecutter (see
    check_nat_gateways); a hosted zone is Route 53's, which dns external does not use."""
    dns = answers["dns"]
    if dns not in DNS_CHOICES:
        yield problem("dns", dns, f"expected {' or '.join(DNS_CHOICES)}")
    elif dns == "external" and answers["hosted_zone_id"]:
        yield problem(
            "hosted_zone_id",
            answers["hosted_zone_id"],
            "expected empty with dns external (the records live at your DNS provider), "
            "or dns route53 to use that Route 53 zone",
        )


def check_certificate_arn(answers):
    arn = answers["certificate_arn"]
    if not arn:
        return
    match = CERTIFICATE_ARN.fullmatch(arn)
    if not match:
        yield problem(
            "certificate_arn",
            arn,
            "expected empty or an ACM certificate ARN such as "
            "arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>",
        )
    elif match["region"] != answers["aws_region"]:
        yield problem(
            "certificate_arn",
            arn,
            "the load balancer needs a certificate in its own region, "
            f"aws_region {answers['aws_region']}",
        )
    elif not answers["ssl"]:
        yield problem("certificate_arn", arn, "expected empty when ssl is false")


def check_host_site(answers):
    host = answers["host_site"]
    if not host:
        return
    if DOMAIN.fullmatch(host):  # the host's domain, not its slug
        slug = slug_for(host)
        meant = f" (the site made for {host} is {slug} unless given a slug of its own)"
        yield problem(
            "host_site",
            host,
            f"expected the domain_slug of the site to join, not its domain{meant if slug else ''}",
        )
    elif len(host) > MAX_SLUG_LENGTH or not SLUG.fullmatch(host):
        yield problem(
            "host_site",
            host,
            "expected empty or the domain_slug of another site (lowercase letters, digits and "
            f"single hyphens, starting with a letter, at most {MAX_SLUG_LENGTH} characters)",
        )
    elif host == answers["domain_slug"]:
        yield problem(
            "host_site",
            host,
            "a site cannot join itself: leave it empty for a load balancer of its own",
        )
    elif answers["nat_gateways"] != NAT_CHOICES[0]:
        yield problem(
            "nat_gateways",
            answers["nat_gateways"],
            f"a site joining {host} runs its tasks in {host}'s subnets, whose NAT gateways are "
            f"{host}'s answer: leave it at {NAT_CHOICES[0]}",
        )


def slug_for(domain):
    """The domain_slug cookiecutter.json's rule makes of a domain, or None without the rule."""
    rule = QUESTIONS.get("domain_slug")
    if not rule:
        return None
    from cookiecutter.environment import StrictEnvironment  # the hook runs in cookiecutter's Python

    return StrictEnvironment().from_string(rule).render(cookiecutter={"domain": domain})


def check_nat_gateways(answers):
    """cookiecutter checks a choice only when it asks or reads the command line, not when it
    replays a site's .cookiecutter.json, and sites made before these words recorded 0, 1 or 2."""
    nat = answers["nat_gateways"]
    if nat not in NAT_CHOICES:
        yield problem(
            "nat_gateways",
            nat,
            f"expected {', '.join(NAT_CHOICES)} "
            "(the earlier 0, 1 and 2 are none, shared and per_zone)",
        )


def check_alarm_email(answers):
    email = answers["alarm_email"]
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        yield problem(
            "alarm_email", email, "expected empty or one email address such as ops@example.com"
        )


def check_deploy_strategy(answers):
    """A choice replayed from a .cookiecutter.json is not checked by cookiecutter (see
    check_nat_gateways)."""
    strategy = answers["deploy_strategy"]
    if strategy not in DEPLOY_STRATEGY_CHOICES:
        yield problem("deploy_strategy", strategy, f"expected {', '.join(DEPLOY_STRATEGY_CHOICES)}")


def check_github_repo(answers):
    repo = answers["github_repo"]
    if repo and not GITHUB_REPO.fullmatch(repo):
        yield problem("github_repo", repo, "expected empty or a GitHub repository as owner/name")
    # A choice replayed from a .cookiecutter.json is not checked by cookiecutter (see
    # check_nat_gateways).
    subject = answers["github_subject"]
    if subject not in GITHUB_SUBJECT_CHOICES:
        yield problem("github_subject", subject, f"expected {' or '.join(GITHUB_SUBJECT_CHOICES)}")


CHECKS = [
    check_domain,
    check_domain_slug,
    check_task_size,
    check_task_platform,
    check_counts,
    check_dns,
    check_hosted_zone_id,
    check_certificate_arn,
    check_nat_gateways,
    check_host_site,
    check_alarm_email,
    check_github_repo,
    check_deploy_strategy,
]


def problems(answers):
    """Every problem with the answers, in the order of the questions: (question, one line)."""
    return [found for check in CHECKS for found in check(answers)]


def made_by_cruft_to_compare(answers, folder):
    """True under `cruft update` and `cruft diff`: they render the template into a folder of
    their own `tempfile.TemporaryDirectory()` (cruft/_commands/utils/generate.py) to compare it
    with the site. `_commit` is in the answers of cruft only. Same test as post_gen_project.py
    (a hook cannot import the other: cookiecutter runs each from a temporary file)."""
    parent = folder.parent
    return (
        "_commit" in answers
        and parent.parent == Path(tempfile.gettempdir()).resolve()
        and re.fullmatch(r"tmp[a-z0-9_]{8}", parent.name) is not None
    )


def as_text(value):
    """An answer as cookiecutter reads it back from the command line."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def run_as_it_ran(program):
    """How the user's shell runs `program` (cookiecutter, cruft), which runs this hook with its own
    Python (cookiecutter/hooks.py: sys.executable): by name when that name on PATH is this
    environment's; `pipx run` from a pipx run environment (a folder in pipx's .cache, on no PATH,
    https://github.com/pypa/pipx/blob/main/docs/how-pipx-works.md); else this Python itself."""
    environment = Path(sys.prefix)
    found = shutil.which(program)
    if found and Path(found).resolve().parent == Path(sysconfig.get_path("scripts")).resolve():
        return [program]
    pipx = environment / "pipx_metadata.json"  # pipx's record of what it installed there
    if environment.parent.name == ".cache" and pipx.is_file():
        spec = json.loads(pipx.read_text())["main_package"]["package_or_url"]
        return ["pipx", "run", *([] if spec == program else ["--spec", spec]), program]
    return [sys.executable, "-m", program]


def bake_again(answers, wrong, folder):
    """The one command that bakes again with every answer kept, the wrong ones last to fix."""
    given = {key: value for key, value in answers.items() if not key.startswith("_")}
    if "domain" in wrong:
        del given["domain_slug"]  # it follows the domain: let the corrected one name it
    ordered = sorted(given, key=lambda key: (key in wrong, key))
    if "_commit" not in answers:  # cookiecutter's own command line
        command = [*run_as_it_ran("cookiecutter"), answers["_template"], "--no-input"]
        if answers.get("_checkout"):
            command += ["--checkout", answers["_checkout"]]
        # The hook runs in the new folder; the user's shell is where PWD says.
        if Path(os.environ.get("PWD", "/")).resolve() != Path(answers["_output_dir"]):
            command += ["--output-dir", answers["_output_dir"]]
        command += [f"{key}={as_text(given[key])}" for key in ordered]
    elif made_by_cruft_to_compare(answers, folder):  # the other answers are in its .cruft.json
        corrected = json.dumps({key: given[key] for key in wrong})
        command = [*run_as_it_ran("cruft"), "update", "--variables-to-update", corrected]
    else:
        command = [*run_as_it_ran("cruft"), "create", answers["_template"], "--no-input"]
        command.append("--extra-context")
        command.append(json.dumps({key: given[key] for key in ordered}))
    return shlex.join(command)


def main(answers, folder):
    found = problems(answers)
    for _, line in found:
        print(f"error: {line}", file=sys.stderr)
    if found:
        wrong = list(dict.fromkeys(question for question, _ in found))
        print(
            f"To bake again with your other answers, correct {', '.join(wrong)} "
            f"(at the end) in:\n  {bake_again(answers, wrong, folder)}",
            file=sys.stderr,
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(ANSWERS, Path.cwd()))
