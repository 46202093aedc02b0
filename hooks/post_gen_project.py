"""Finish the new project: drop disabled options' files, lint the stacks, cost it, say what next.

Runs inside the new project folder. Offline and idempotent: cruft runs it again on every update.
A lint finding exits 1, and cookiecutter then removes the folder it created.
"""

import json
import shutil
import sys
from pathlib import Path

ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')
PROJECT = Path.cwd()
COST_BEGIN, COST_END = "<!-- cost report: begin -->", "<!-- cost report: end -->"


def remove_github_workflows():
    shutil.rmtree(PROJECT / ".github", ignore_errors=True)


def remove_disabled_options(answers):
    if not answers["github_repo"]:
        remove_github_workflows()


def cloudformation_templates():
    return sorted((PROJECT / "cloudformation").glob("*.yaml"))


def lint_cloudformation(templates, region):
    """Return cfn-lint's errors and warnings as `path:line rule message` lines, or None without cfn-lint."""
    try:
        from cfnlint.api import ManualArgs, lint_by_config
    except ImportError:
        return None
    if not templates:
        return []
    matches = lint_by_config(ManualArgs(templates=[str(t) for t in templates], regions=[region]))
    return [
        f"{Path(m.filename).relative_to(PROJECT)}:{m.linenumber} {m.rule.id} {m.message}"
        for m in matches
    ]


def write_cost_report(answers):
    """Print the site's idle cost and rollout figure, and keep them in the README between markers."""
    sys.dont_write_bytecode = True  # no __pycache__ left in the new project
    sys.path.insert(0, str(PROJECT))
    from deploy.cost import project_report

    report = project_report(PROJECT, answers)
    readme = PROJECT / "README.md"
    head, rest = readme.read_text().split(COST_BEGIN, 1)
    _, tail = rest.split(COST_END, 1)
    readme.write_text(f"{head}{COST_BEGIN}\n{report}\n{COST_END}{tail}")
    print(f"\n{report}")


def print_next_steps(answers):
    print(
        f"\nCreated {PROJECT.name}/ for {answers['domain']}. Next steps:\n"
        f"  cd {PROJECT.name}\n"
        "  make test      # the site's own tests (creates .venv on first run)\n"
        "  make deploy    # both stacks and the image, with AWS credentials and Docker\n"
    )


def main():
    remove_disabled_options(ANSWERS)
    findings = lint_cloudformation(cloudformation_templates(), ANSWERS["aws_region"])
    if findings is None:
        print("warning: cfn-lint is not installed here; validate the stacks later with `make lint`")
    elif findings:
        print("error: cfn-lint found problems in the generated stacks:", file=sys.stderr)
        for line in findings:
            print(f"  {line}", file=sys.stderr)
        return 1
    write_cost_report(ANSWERS)
    print_next_steps(ANSWERS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
