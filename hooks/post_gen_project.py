"""Finish the new project: drop disabled options' files, pin the deploy tool, lint the stacks,
cost it, say what next.

Runs inside the new project folder. Offline and idempotent: cruft runs it again on every update,
where it does the same work but says nothing. A lint finding exits 1, and cookiecutter then
removes the folder it created. Importing the rendered script runs nothing: the template's tests
call its functions.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')  # fmt: skip
COST_BEGIN, COST_END = "<!-- cost report: begin -->", "<!-- cost report: end -->"
# Where the README links the tool's reference: replaced by that version's docs/ (tool_source).
DOCS_MARKER = "@tool-docs@"
TOOL = "flask-fargate[standin]"  # with the stand-in: each site rehearses its first deploy


@dataclass(frozen=True)
class ToolSource:
    requirement: str  # the line of requirements-tool.txt
    docs: str  # that version's docs/ folder
    this_machine_only: bool  # a folder on this machine, not a commit anyone can fetch


def git(folder, *args):
    done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def checkout_of(answers):
    """The template's folder, absolute, when cookiecutter ran on one (`cookiecutter .` gives
    `_repo_dir` relative to the folder it ran in, which the shell's PWD names); None under cruft,
    which does not say."""
    folder = answers.get("_repo_dir")
    if not folder:
        return None
    return (Path(os.environ.get("PWD", ".")) / Path(folder).expanduser()).resolve()


def tool_source(answers):
    """The deploy tool the site pins: the template's own source. From git (`cookiecutter
    gh:org/flask-fargate`, cruft), its repository at the template's commit; from a local folder,
    that folder as it is, which works on this machine only."""
    checkout = checkout_of(answers)
    template = answers["_template"]
    local = checkout is not None and (Path(template).expanduser().is_dir() or template == ".")
    if local and "_commit" not in answers:
        return ToolSource(f"{TOOL} @ {checkout.as_uri()}", f"{checkout}/docs", True)
    commit = answers.get("_commit") or git(checkout, "rev-parse", "HEAD")
    url = git(checkout, "remote", "get-url", "origin") if checkout else template
    if Path(url).expanduser().is_dir():
        url = Path(url).expanduser().resolve().as_uri()
    url = re.sub(r"^(git\+)?", "", re.sub(r"^gh:", "https://github.com/", url))
    github = re.fullmatch(r"(?:https://|git@)github\.com[/:](.+?)(?:\.git)?/?", url)
    if github:
        docs = f"https://github.com/{github[1]}/tree/{commit}/docs"
    elif url.startswith("file:"):  # a folder on this machine (cruft from a local clone)
        docs = f"{url.removeprefix('file://')}/docs"
    else:
        docs = f"{url.removesuffix('.git')}/-/tree/{commit}/docs"
    if url.startswith("git@"):  # scp-like: pip takes it as ssh://
        url = "ssh://" + url.replace(":", "/", 1)
    # With a host: the pip that Python 3.11 and 3.12 ship (23.x) refuses a git+file URL with an
    # empty one ("Invalid requirement", pypa/packaging#412); git takes file://localhost/ alike.
    url = re.sub(r"^file:///", "file://localhost/", url)
    return ToolSource(f"{TOOL} @ git+{url}@{commit}", docs, url.startswith("file:"))


def pin_tool(answers, project):
    """Write requirements-tool.txt and point the README's links at that version's docs."""
    source = tool_source(answers)
    (project / "requirements-tool.txt").write_text(
        "# The deploy tool, exactly the version this site was made with (installed by make venv).\n"
        "# Updating it is changing this line; its CHANGELOG says what each version needs.\n"
        f"{source.requirement}\n"
    )
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace(DOCS_MARKER, source.docs))
    return source


def remove_disabled_options(answers, project):
    if not answers["github_repo"]:
        shutil.rmtree(project / ".github", ignore_errors=True)


def lint_cloudformation(project, region):
    """cfn-lint's errors and warnings as `path:line rule message` lines; None without cfn-lint."""
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
    sys.dont_write_bytecode = True  # no __pycache__ left in the template's checkout
    template = Path(answers["_template"]).expanduser()
    checkout = checkout_of(answers) or (template if template.is_dir() else None)
    if checkout is None:  # cruft from git: the report in the site's README stays as it is
        return None
    sys.path.insert(0, str(checkout / "src"))
    from flask_fargate.cost import project_report

    report = project_report(project, answers)
    readme = project / "README.md"
    head, rest = readme.read_text().split(COST_BEGIN, 1)
    _, tail = rest.split(COST_END, 1)
    readme.write_text(f"{head}{COST_BEGIN}\n{report}\n{COST_END}{tail}")
    return report


def shown_path(project):
    """The folder as the user's shell reaches it: relative below it (make bake: build/...), else
    absolute. The hook runs in the new folder; the user's shell is where PWD says."""
    relative = os.path.relpath(project, os.environ.get("PWD", project.parent))
    return project if relative.startswith("..") else relative


def next_steps(answers, project):
    # `make deploy` tags the image with the commit, so a folder outside git needs one first.
    first_commit = (
        ""
        if inside_git_work_tree(project)
        else '  git init && git add -A && git commit -m "First version"'
        "    # deploys need a commit\n"
    )
    return (
        f"\nCreated {project.name}/ for {answers['domain']}. Next steps:\n"
        f"  cd {shown_path(project)}\n"
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
    source = pin_tool(answers, project)
    report = write_cost_report(answers, project)
    if not made_by_cruft_to_compare(answers, project):
        if report:
            print(f"\n{report}")
        if source.this_machine_only:
            print(
                f"\nnote: requirements-tool.txt pins the tool in {source.docs[:-5]}, on this "
                "machine only; to share the site, pin a commit of the template's repository "
                '(its README: "Updating the deploy tool")'
            )
        print(next_steps(answers, project))
    return 0


if __name__ == "__main__":
    sys.exit(main(ANSWERS, Path.cwd()))
