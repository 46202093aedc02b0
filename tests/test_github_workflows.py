"""The GitHub workflows a bake with github_repo gets: valid, least privilege, pinned, expressions intact."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from bakery import bake_cli

REPO = "acme/example.com-site"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


@pytest.fixture(scope="module")
def workflows(tmp_path_factory) -> Path:
    # arm64: the deploy workflow then has its optional step too (QEMU on the x86 runner).
    # python_version 3.13, not the default: the workflows must follow the answer.
    bake = bake_cli(
        tmp_path_factory.mktemp("github"),
        github_repo=REPO,
        aws_region="eu-central-1",
        cpu_architecture="arm64",
        python_version="3.13",
    )
    assert bake.returncode == 0, bake.stderr
    return bake.project / ".github" / "workflows"


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the bare key `on` as true; GitHub does not
    return workflow


def test_both_workflows_match_github_schema(workflows):
    """The schema GitHub publishes for workflow files, vendored in check-jsonschema (offline)."""
    files = sorted(workflows.glob("*.yml"))
    assert [path.name for path in files] == ["ci.yml", "deploy.yml"]
    checked = subprocess.run(
        [CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_ci_runs_lint_and_tests_on_pull_requests(workflows):
    ci = load(workflows / "ci.yml")

    assert set(ci["on"]) == {"pull_request", "workflow_call"}
    assert ci["permissions"] == {"contents": "read"}
    (job,) = ci["jobs"].values()
    commands = [step.get("run", "") for step in job["steps"]]
    assert "make test" in commands
    assert [command for command in commands if command.startswith("make lint")]
    assert any("apt-get install" in command and "nginx" in command for command in commands)


def setup_python(workflow: dict, job: str) -> str:
    (step,) = [s for s in workflow["jobs"][job]["steps"] if "setup-python" in s.get("uses", "")]
    return step["with"]["python-version"]


def test_ci_and_deploy_run_the_python_the_image_runs(workflows):
    dockerfile = (workflows.parent.parent / "Dockerfile").read_text()

    assert "\nFROM python:3.13-slim-trixie AS base\n" in dockerfile
    assert setup_python(load(workflows / "ci.yml"), "checks") == "3.13"
    assert setup_python(load(workflows / "deploy.yml"), "deploy") == "3.13"


def test_deploy_runs_on_main_after_the_checks_one_at_a_time(workflows):
    deploy = load(workflows / "deploy.yml")

    assert deploy["on"]["push"] == {"branches": ["main"]}
    assert deploy["permissions"] == {"contents": "read"}
    assert deploy["jobs"]["checks"]["uses"] == "./.github/workflows/ci.yml"
    job = deploy["jobs"]["deploy"]
    assert job["needs"] == "checks"
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    assert job["concurrency"] == {"group": "deploy-example-com", "cancel-in-progress": False}
    assert "environment" not in job, "an environment changes the OIDC subject the role trusts"
    steps = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
    credentials = steps["aws-actions/configure-aws-credentials"]["with"]
    assert credentials["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert credentials["aws-region"] == "eu-central-1"
    command = job["steps"][-1]["run"].split()
    assert command[:2] == [".venv/bin/flask-fargate", "up"]
    assert "--service-only" in command
    # The options are the deploy tool's own: a stale one would fail every deploy from main.
    parse = "import sys; from flask_fargate.cli import parser; parser().parse_args(sys.argv[1:])"
    parsed = subprocess.run(
        [sys.executable, "-c", parse, *command[1:]],
        cwd=workflows.parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert parsed.returncode == 0, parsed.stderr


def test_the_deploy_job_installs_everything_before_it_holds_aws_credentials(workflows):
    (job,) = [load(workflows / "deploy.yml")["jobs"]["deploy"]]
    steps = [step.get("uses", "") or step.get("run", "") for step in job["steps"]]
    credentials = next(i for i, step in enumerate(steps) if "configure-aws-credentials" in step)
    installs = [i for i, step in enumerate(steps) if "make venv" in step or "install" in step]

    assert installs and max(installs) < credentials


def test_an_arm64_site_deploys_from_an_x86_runner_with_qemu(workflows):
    (job,) = [load(workflows / "deploy.yml")["jobs"]["deploy"]]
    runs = [step.get("run", "") for step in job["steps"]]
    qemu = next(i for i, run in enumerate(runs) if "qemu-user-static" in run)
    deploy = next(i for i, run in enumerate(runs) if "flask-fargate up" in run)

    assert job["runs-on"] == "ubuntu-24.04" and qemu < deploy


def test_github_expressions_survive_generation(workflows):
    text = (workflows / "deploy.yml").read_text()

    assert "if: ${{ vars.AWS_DEPLOY_ROLE_ARN == '' }}" in text
    assert "role-session-name: deploy-${{ github.run_id }}" in text
    assert "repo:acme@<id>/example.com-site@<id>:ref:refs/heads/main" in text
    assert not re.search(r"(?<!\$)\{\{|\{%|\{#", text), "only GitHub's ${{ }} may remain"


def test_every_action_is_pinned_to_a_commit(workflows):
    for path in workflows.glob("*.yml"):
        for action in re.findall(r"uses: (\S+)", path.read_text()):
            if not action.startswith("./"):
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), (
                    f"{path.name}: {action}"
                )


def test_no_github_repo_no_workflows(default_bake):
    assert not (default_bake / ".github").exists()
    assert "## CI/CD" not in (default_bake / "README.md").read_text()


# ---------------------------------------------------------------- Dependabot


def test_dependabot_config_matches_its_schema(workflows):
    """The schema of .github/dependabot.yml, vendored in check-jsonschema (offline)."""
    checked = subprocess.run(
        [
            CHECK_JSONSCHEMA,
            "--builtin-schema",
            "vendor.dependabot",
            workflows.parent / "dependabot.yml",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dependabot_watches_the_actions_the_base_image_and_the_locks(workflows):
    project = workflows.parent.parent
    config = yaml.safe_load((workflows.parent / "dependabot.yml").read_text())
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert {name: update["directory"] for name, update in updates.items()} == {
        "github-actions": "/",
        "docker": "/",
        "uv": "/",
    }
    # Dependabot reads an image from a FROM that names it, never from an ARG
    # (dependabot/dependabot-core#2057): the base is named once, and both stages start from it.
    images = re.findall(r"^FROM (\S+)", (project / "Dockerfile").read_text(), re.MULTILINE)
    assert re.fullmatch(r"python:3\.\d+-slim-trixie", images[0])
    assert set(images[1:]) == {"base"}
    # The uv ecosystem compiles again what `uv pip compile` made from a .in file, with hashes
    # when the lock has them.
    locks = sorted(project.glob("requirements*.txt"))
    compiled = [lock for lock in locks if lock.name != "requirements-tool.txt"]
    assert len(compiled) == 3
    for lock in compiled:
        text = lock.read_text()
        assert text.startswith("# This file was autogenerated by uv"), lock.name
        assert "--hash=sha256:" in text, lock.name
        assert lock.with_suffix(".in").is_file(), lock.name
    # The tool's pin is a git commit, not a PyPI release of that name.
    assert "flask-fargate[standin] @ " in (project / "requirements-tool.txt").read_text()
    assert updates["uv"]["ignore"] == [{"dependency-name": "flask-fargate"}]
