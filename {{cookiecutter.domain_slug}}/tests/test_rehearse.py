"""`make rehearse`: the first deploy against a local moto server, run as a user runs it."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SITE = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["flask-fargate"]
# The rehearsal's image, named for the tasks' CPU as every image the tool makes.
IMAGE = "rehearsal{{ '-arm64' if cookiecutter.cpu_architecture == 'arm64' else '' }}"


def test_make_rehearse_deploys_both_stacks_offline_with_no_credentials_of_the_user(tmp_path):
    # Its .venv stands in for one: marked installed, with the tests' own interpreter for a bin.
    (tmp_path / ".installed").touch()
    command = ["make", "--no-print-directory", "rehearse", f"VENV={tmp_path}"]
    command.append(f"BIN={Path(sys.executable).parent}")
    # A profile that does not exist: reading it would fail the rehearsal.
    env = {**os.environ, "AWS_PROFILE": "not-a-profile-of-this-machine"}

    done = subprocess.run(  # noqa: S603 - make and the project's own Makefile
        command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert f"{SITE['slug']}-resources: CREATE_COMPLETE" in out
    assert f"{SITE['slug']}-service: CREATE_COMPLETE" in out
    assert f"{SITE['domain']} runs image {IMAGE}: http" in out
    assert out.rstrip().endswith(
        "Rehearsal passed; the moto server is stopped and nothing of it is kept."
    )
