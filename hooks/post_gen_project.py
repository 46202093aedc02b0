"""Finish the new project: drop disabled options' files, lint the stacks, cost it, say what next.

Runs inside the new project folder. Offline and idempotent: cruft runs it again on every update,
where it does the same work but says nothing. A lint finding exits 1, and cookiecutter then
removes the folder it created. Importing the rendered script runs nothing: the template's tests
call its functions.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')
COST_BEGIN, COST_END = "<!-- cost report: begin -->", "<!-- cost report: end -->"


def remove_disabled_options(answers, project):
    if not answers["github_repo"]:
        shutil.rmtree(project / ".github", ignore_errors=True)


def lint_cloudformation(project, region):
    """Return cfn-lint's errors and warnings as `path:line rule message` lines, or None without cfn-lint."""
    try:
        from cfnlint.api import ManualArgs, lint_by_config
    except ImportError:
        return None
    templates = sorted((project / "cloudformation").glob("*.yaml"))
    if not templates:
        return []
    matches = lint_by_config(ManualArgs(templates=[str(t) for t in templates], regions=[region]))
    return [
        f"{Path(m.filename).relative_to(project)}:{m.linenumber} {m.rule.id} {m.message}"
        for m in matches
    ]


def made_by_cruft_to_compare(answers, folder):
    """True under `cruft update` and `cruft diff`: they render the template into a folder of
    their own `tempfile.TemporaryDirectory()` (cruft/_commands/utils/generate.py) to compare it
    with the site, so nobody reads what is printed there. `_commit` is in the answers of cruft
    only. Same test as pre_gen_project.py (a hook cannot import the other: cookiecutter runs each
    from a temporary file)."""
    parent = folder.parent
    return (
        "_commit" in answers
        and parent.parent == Path(tempfile.gettempdir()).resolve()
        and re.fullmatch(r"tmp[a-z0-9_]{8}", parent.name) is not None
    )


def inside_git_work_tree(folder):
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:  # no git on this machine
        return False
    return done.stdout.strip() == "true"


def write_cost_report(answers, project):
    """Keep the site's idle cost and rollout figure in the README between markers; return them."""
    sys.dont_write_bytecode = True  # no __pycache__ left in the new project
    sys.path.insert(0, str(project))
    from deploy.cost import project_report

    report = project_report(project, answers)
    readme = project / "README.md"
    head, rest = readme.read_text().split(COST_BEGIN, 1)
    _, tail = rest.split(COST_END, 1)
    readme.write_text(f"{head}{COST_BEGIN}\n{report}\n{COST_END}{tail}")
    return report


def next_steps(answers, project):
    # `make deploy` tags the image with the commit, so a folder outside git needs one first.
    first_commit = (
        ""
        if inside_git_work_tree(project)
        else '  git init && git add -A && git commit -m "First version"    # deploys need a commit\n'
    )
    return (
        f"\nCreated {project.name}/ for {answers['domain']}. Next steps:\n"
        f"  cd {project.name}\n"
        f"{first_commit}"
        "  make test      # the site's own tests (installs its tools into .venv on first run)\n"
        "  make deploy    # both stacks and the image, with AWS credentials and Docker\n"
    )


def main(answers, project):
    remove_disabled_options(answers, project)
    findings = lint_cloudformation(project, answers["aws_region"])
    if findings is None:
        print("warning: cfn-lint is not installed here; validate the stacks later with `make lint`")
    elif findings:
        print("error: cfn-lint found problems in the generated stacks:", file=sys.stderr)
        for line in findings:
            print(f"  {line}", file=sys.stderr)
        return 1
    report = write_cost_report(answers, project)
    if not made_by_cruft_to_compare(answers, project):
        print(f"\n{report}")
        print(next_steps(answers, project))
    return 0


if __name__ == "__main__":
    sys.exit(main(ANSWERS, Path.cwd()))
