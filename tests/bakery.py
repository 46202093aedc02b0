"""Helpers for the template's tests: bake through the real cookiecutter CLI, or load a hook
in-process with the answers cookiecutter would hand it. A module of its own, not conftest.py:
tests/tool/ has a conftest of its own, and two modules named `conftest` cannot both be imported."""

import json
import os
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

from cookiecutter.generate import create_env_with_context, generate_context
from cookiecutter.prompt import prompt_for_config

TEMPLATE = Path(__file__).resolve().parent.parent
COOKIECUTTER = [sys.executable, "-m", "cookiecutter"]
QUESTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())


# Commits made by the tests' git commands name this author.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


def run(*command, cwd: Path, env=None) -> subprocess.CompletedProcess:
    """A command (git, cruft, ...) in `cwd`, with GIT_IDENTITY: the completed process."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env or {**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def must(*command, cwd: Path) -> str:
    """run(), which must succeed: its output."""
    done = run(*command, cwd=cwd)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Bake:
    returncode: int
    stdout: str
    stderr: str
    output_dir: Path

    @property
    def project(self) -> Path:
        (project,) = self.output_dir.iterdir()
        return project


def bake_cli(output_dir: Path, template: Path = TEMPLATE, env=None, flags=(), **answers) -> Bake:
    """Run `cookiecutter <template> --no-input -o <output_dir> key=value ...` as a user would."""
    output_dir.mkdir(parents=True, exist_ok=True)
    pairs = [f"{key}={value}" for key, value in answers.items()]
    completed = subprocess.run(
        [
            *COOKIECUTTER,
            str(template),
            "--no-input",
            *flags,
            "--output-dir",
            str(output_dir),
            *pairs,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    return Bake(completed.returncode, completed.stdout, completed.stderr, output_dir)


def answers_for(**given) -> dict:
    """The answers `cookiecutter <template> --no-input key=value ...`, run here, hands its hooks,
    made by cookiecutter's own code. A choice or yes/no it refuses itself raises ValueError."""
    context = generate_context(str(TEMPLATE / "cookiecutter.json"), extra_context=given)
    return {
        **prompt_for_config(context, no_input=True),
        "_template": str(TEMPLATE),
        "_output_dir": os.path.abspath("."),
        "_repo_dir": str(TEMPLATE),
        "_checkout": None,
    }


def load_hook(name: str, answers: dict) -> types.ModuleType:
    """hooks/<name>.py rendered for the answers as cookiecutter renders it, then imported: its
    functions, to call in-process."""
    path = TEMPLATE / "hooks" / f"{name}.py"
    context = {"cookiecutter": answers}
    source = create_env_with_context(context).from_string(path.read_text()).render(**context)
    hook = types.ModuleType(name)
    exec(compile(source, path, "exec"), hook.__dict__)  # noqa: S102 - the template's own hook
    return hook


def typed_answers(answers) -> str:
    """What a user types at the prompts to give these answers, Enter for every other question."""
    lines = []
    for key, default in QUESTIONS.items():
        if key.startswith("_"):
            continue
        answer = answers.get(key)
        if answer is None:
            lines.append("")
        elif isinstance(default, list):  # a choice: its option number
            lines.append(str(default.index(answer) + 1))
        else:
            lines.append(str(answer))
    return "\n".join(lines) + "\n"


def bake_interactively(output_dir: Path, **answers) -> Bake:
    """Run `cookiecutter <template> -o <output_dir>` and answer its prompts as a user would."""
    output_dir.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [*COOKIECUTTER, str(TEMPLATE), "--output-dir", str(output_dir)],
        input=typed_answers(answers),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Bake(completed.returncode, completed.stdout, completed.stderr, output_dir)


def copy_template(destination: Path) -> Path:
    """A private copy of the template, for tests that change it."""
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "build", "__pycache__", ".pytest_cache", ".hypothesis"
    )
    return Path(shutil.copytree(TEMPLATE, destination, ignore=ignore))


def rendered_text_files(project: Path):
    for path in sorted(project.rglob("*")):
        if path.is_file():
            try:
                yield path, path.read_text()
            except UnicodeDecodeError:
                continue


def first_commit(folder: Path) -> None:
    """`git init` and a first commit of everything, as the next steps tell a user: some of a
    site's tests and commands read git."""
    for command in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "First"]):
        must("git", *command, cwd=folder)
