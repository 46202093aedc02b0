"""The generated .pre-commit-config.yaml passes on a fresh bake, offline, with the pinned tools."""

import os
import subprocess
import sys
from pathlib import Path

from bakery import bake_cli

# The template's venv holds the generated project's pinned tools (requirements.txt includes
# requirements-dev.txt): the same binaries `make venv` would install into the site's .venv.
PINNED_VENV = Path(sys.executable).parent.parent


def test_pre_commit_passes_on_a_fresh_bake(tmp_path):
    bake = bake_cli(tmp_path / "out", github_repo="acme/site")
    assert bake.returncode == 0, bake.stderr
    site = bake.project
    subprocess.run(["git", "init", "--quiet"], cwd=site, check=True)
    subprocess.run(["git", "add", "--all"], cwd=site, check=True)
    (site / ".venv").symlink_to(PINNED_VENV)  # after `git add`: the link itself is no site file

    checked = subprocess.run(
        [site / ".venv" / "bin" / "pre-commit", "run", "--all-files", "--show-diff-on-failure"],
        cwd=site,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    for hook in ("ruff check", "cfn-lint", "hadolint", "check yaml", "check GitHub workflows"):
        assert any(
            line.startswith(hook) and line.endswith("Passed")
            for line in checked.stdout.splitlines()
        ), f"{hook} did not run:\n{checked.stdout}"
