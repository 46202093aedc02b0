"""The generated site's own test suite runs, and passes, inside the template's suite."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import bake_cli


@pytest.mark.parametrize("answers", [pytest.param({}, id="defaults"), pytest.param({"ssl": "no"}, id="ssl-off")])
def test_generated_project_suite_passes(tmp_path, answers):
    bake = bake_cli(tmp_path, **answers)
    assert bake.returncode == 0, bake.stderr
    # The template's venv holds the same pinned packages as the project's requirements-dev.txt.
    tools = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": os.pathsep.join([tools, os.environ.get("PATH", ""), "/usr/sbin"])}

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=bake.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    summary = run.stdout.strip().splitlines()[-1:] or [run.stderr]
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in summary[0], summary
