"""Shared by the site's tests: the app fixtures, and a check that no test leaves a process behind.

`app`, `client` and `runner` are the Flask tutorial's fixtures: a new test file can use them as
they are (def test_about_page(client): ...).

On Linux this pytest process is a child subreaper: a process whose parent dies (an nginx worker
whose master was killed, say) is handed to pytest instead of init, so it can be found. After each
test's teardown, every child of pytest that no fixture of a wider scope holds is killed and
reported as an error of that test, by pid and command line. The last test's teardown ends every
fixture, so that check covers the end of the session too.

The run's header names the Python running the tests and the one the image runs (the Dockerfile's
base image); when they differ, the run ends with a warning that says how to test on the image's.
"""

import contextlib
import ctypes
import os
import platform
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import create_app

PR_SET_CHILD_SUBREAPER = 36  # from <linux/prctl.h>
DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile"
TESTS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def image_python():
    """The Python version the image runs: the tag of the Dockerfile's base, or None."""
    image = re.search(r"^FROM python:(\d+\.\d+)\b.* AS base$", DOCKERFILE.read_text(), re.M)
    return image[1] if image else None


def pytest_report_header():
    image = image_python() or "unknown (the Dockerfile's base names no python:X.Y)"
    return f"python: these tests run on {platform.python_version()}, the image on {image}"


def pytest_terminal_summary(terminalreporter):
    image = image_python()
    if image and image != TESTS_PYTHON:
        terminalreporter.write_line(
            f"warning: these tests ran on Python {TESTS_PYTHON}, and the image runs {image}: "
            f"to test what Fargate runs, rm -rf .venv && make test PYTHON=python{image}",
            yellow=True,
        )


@pytest.fixture
def app():
    return create_app({"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    zombie: bool  # exited, waiting for its parent to reap it
    command: str


def processes():
    """Every process on this machine, read from /proc (Linux only): {pid: Process}."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # gone meanwhile
        pid = int(stat.parent.name)
        found[pid] = Process(pid, int(ppid), state == "Z", command.decode(errors="replace").strip())
    return found


def become_subreaper():
    """True when orphans are handed to pytest from now on (Linux)."""
    prctl = getattr(ctypes.CDLL(None), "prctl", None)
    return prctl is not None and prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


SUBREAPER = become_subreaper()
held = {}  # fixture of a scope wider than a test -> pids of the children its setup started


def unheld_children():
    pids = set().union(*held.values())
    return [p for p in processes().values() if p.ppid == os.getpid() and p.pid not in pids]


def stop_leftovers():
    """Kill and reap the children no fixture holds, and what they leave; return those running."""
    stopped = []
    while leftovers := unheld_children():
        for process in leftovers:
            if not process.zombie:  # a zombie holds nothing but its pid: reaped quietly
                stopped.append(process)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(process.pid, 0)
    return stopped


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef):
    if not SUBREAPER or fixturedef.scope == "function":
        return (yield)
    before = {process.pid for process in unheld_children()}
    result = yield
    held[fixturedef] = {process.pid for process in unheld_children()} - before
    return result


def pytest_fixture_post_finalizer(fixturedef):
    held.pop(fixturedef, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown():
    try:
        return (yield)
    finally:
        left = stop_leftovers() if SUBREAPER else []
        if left:
            lines = "".join(f"\n  {process.pid} {process.command}" for process in left)
            pytest.fail(f"processes left running after the test (now killed):{lines}")
