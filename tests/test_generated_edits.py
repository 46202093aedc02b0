"""A test of a site owner's that leaves a process running fails, naming it, and the process is
stopped. (The site's tests with a home page of the owner's: tests/test_generated_suite.py.)"""

import subprocess
import sys
from pathlib import Path

import pytest
from bakery import bake_cli

# A background process outliving the shell that started it: pytest inherits it as an orphan.
# The test returns once the orphan runs sleep: until the shell's fork has exec'd, its command
# line is still the shell's.
FORGETFUL_TEST = """\
import subprocess
import time

from conftest import processes


def test_starts_something_and_forgets_it():
    subprocess.run(["sh", "-c", "sleep 3141 &"], check=True)
    deadline = time.monotonic() + 10
    while not any(p.command == "sleep 3141" for p in processes().values()):
        assert time.monotonic() < deadline, "sleep 3141 never started"
        time.sleep(0.01)
"""


def baked(tmp_path):
    bake = bake_cli(tmp_path)
    assert bake.returncode == 0, bake.stderr
    return bake.project


def run_tests(project, *paths):
    # The template's venv holds the same pinned packages as the project's requirements-dev.txt.
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths],
        check=False,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.skipif(sys.platform != "linux", reason="the check needs PR_SET_CHILD_SUBREAPER")
def test_a_test_that_leaves_a_process_running_fails_and_the_process_is_stopped(tmp_path):
    project = baked(tmp_path)
    (project / "tests" / "test_forgetful.py").write_text(FORGETFUL_TEST)

    run = run_tests(project, "tests/test_forgetful.py")

    assert run.returncode == 1
    assert "1 passed, 1 error" in run.stdout
    assert "processes left running after the test (now killed):" in run.stdout
    assert " sleep 3141\n" in run.stdout
    assert not [cmdline for cmdline in Path("/proc").glob("[0-9]*/cmdline") if sleeping(cmdline)]


def sleeping(cmdline):
    try:
        return cmdline.read_bytes() == b"sleep\0" + b"3141\0"
    except OSError:
        return False  # gone meanwhile
