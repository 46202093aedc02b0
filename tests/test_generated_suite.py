"""A site's own `make lint` and `make test` pass, for a spread of answers; the default site's
with a home page of its owner's, as its tests pin what the owner keeps (status codes, headers,
redirects, health, that the page renders), never the words the owner replaces.

Every bake links one shared .venv, made once by the site's own Makefile recipes and kept in
pytest's cache under the hash of the site's requirements and of the tool they pin (this
checkout's src/), so only the first run installs.
"""

import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bakery import TEMPLATE, bake_cli, first_commit

SITE = TEMPLATE / "{{cookiecutter.domain_slug}}"
# What the site's .venv holds: its locks, and the tool its requirements-tool.txt pins (this checkout).
INSTALLED = sorted(SITE.glob("requirements*.txt")) + sorted((TEMPLATE / "src").rglob("*.py"))
STAMPS = (".installed", "checkov/.installed")  # in .venv: what `make lint` and `make test` need
QUESTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())
# As a user's shell has it: no state of the make that runs this suite.
ENV = {
    **{k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")},
    "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]),  # nginx on Debian
    # checkov inside the cached .venv, not in the machine's cache that sites share (the Makefile)
    "CHECKOV": ".venv/checkov",
}


# The longest apex ACM certifies (64 characters), and the longest the hooks take without a
# certificate (124, so that www.<domain> fits a listener rule's host-header value of 128); DNS
# labels have at most 63.
LONGEST_WITH_SSL = "a" * 60 + ".com"
# Digit-first too (its slug gains a "site-" prefix), to keep the spread at three bakes.
LONGEST = ".".join(["7" + "a" * 62, "a" * 56, "com"])
OWN_HOME_PAGE = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>The corner bakery</title></head>
<body>
  <h1>Fresh bread every morning</h1>
  <p>Open from seven, closed on Mondays.</p>
</body>
</html>
"""
NAT = QUESTIONS["nat_gateways"]  # the default first; read here, as the answers get renamed
# Each answer of note once, paired where they do not interact, so the spread takes three bakes
# (each runs the site's whole suite: the CI's time budget holds three). The third joins another
# site's load balancer, so its deploy tests meet a stand-in host (and its NAT is the host's).
BAKES = [
    pytest.param({}, OWN_HOME_PAGE, id=f"defaults-nat-{NAT[0]}-own-home-page"),
    pytest.param(
        {
            "domain": LONGEST,
            "ssl": "no",
            "github_repo": "acme/site",
            "nat_gateways": NAT[2],
            "dns": "external",
        },
        None,
        id=f"longest-{len(LONGEST)}-chars-digit-first-ssl-off-github-on-nat-{NAT[2]}-dns-external",
    ),
    pytest.param(
        {
            "domain": LONGEST_WITH_SSL,
            "host_site": "example-com",
            "cpu_architecture": "arm64",
            "capacity": "mixed",
        },
        None,
        id=f"longest-with-ssl-{len(LONGEST_WITH_SSL)}-chars-joins-a-host-arm64-mixed",
    ),
]


def requirements_hash() -> str:
    digest = hashlib.sha256()
    for path in INSTALLED:
        digest.update(str(path.relative_to(TEMPLATE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def site_venv(request, tmp_path_factory) -> Path:
    """The site's .venv with checkov's inside, installed by the site's Makefile on first use."""
    cache = request.config.cache.mkdir("site-venv")
    venv = cache / requirements_hash()
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers wait for the one installing
        if not all((venv / stamp).exists() for stamp in STAMPS):
            for stale in cache.iterdir():
                if stale.is_dir():
                    shutil.rmtree(stale)
            bake = bake_cli(tmp_path_factory.mktemp("venv-bake"))
            assert bake.returncode == 0, bake.stderr
            installed = subprocess.run(
                ["make", f"VENV={venv}", f"CHECKOV={venv}/checkov", f"{venv}/checkov/.installed"],
                check=False,
                cwd=bake.project,
                env=ENV,
                capture_output=True,
                text=True,
                timeout=900,
            )
            assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv


@pytest.mark.parametrize(("answers", "home_page"), BAKES)
def test_site_lint_and_test_pass(tmp_path, site_venv, answers, home_page):
    bake = bake_cli(tmp_path, **answers)
    assert bake.returncode == 0, bake.stderr
    site = bake.project
    if home_page:
        (site / "app" / "templates" / "index.html").write_text(home_page)
    first_commit(site)  # as the next steps tell a user: some of the site's tests read git
    (site / ".venv").symlink_to(site_venv)
    stamps = [f".venv/{stamp}" for stamp in STAMPS]
    for stamp in stamps:
        (site / stamp).touch()  # installed after this checkout, as in a user's site
    up_to_date = subprocess.run(["make", "--question", *stamps], check=False, cwd=site, env=ENV)
    assert up_to_date.returncode == 0, "make would install into the shared .venv"

    failures = []
    for target in ("lint", "test"):
        run = subprocess.run(
            ["make", target],
            check=False,
            cwd=site,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if run.returncode:
            failures.append(f"make {target}:\n{run.stdout[-6000:]}{run.stderr[-3000:]}")
    assert not failures, "\n".join(failures)


def test_the_site_tests_say_which_python_ran_and_warn_when_the_image_runs_another(tmp_path):
    """Run here with this checkout's Python (no site .venv): the header names it and the image's
    Python (the Dockerfile's base); the warning comes only when they differ."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    image = next(version for version in QUESTIONS["python_version"] if version != here)
    bake = bake_cli(tmp_path, python_version=image)
    assert bake.returncode == 0, bake.stderr
    site = bake.project
    pytest_app = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_app.py"]

    other = subprocess.run(pytest_app, cwd=site, capture_output=True, text=True, check=False)
    dockerfile = site / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace(f"python:{image}-", f"python:{here}-"))
    same = subprocess.run(pytest_app, cwd=site, capture_output=True, text=True, check=False)

    assert other.returncode == same.returncode == 0, other.stdout + same.stdout
    ran = platform.python_version()
    assert f"\npython: these tests run on {ran}, the image on {image}\n" in other.stdout
    assert (
        f"\nwarning: these tests ran on Python {here}, and the image runs {image}: to test what "
        f"Fargate runs, rm -rf .venv && make test PYTHON=python{image}\n"
    ) in other.stdout
    assert f"\npython: these tests run on {ran}, the image on {here}\n" in same.stdout
    assert "warning:" not in same.stdout
