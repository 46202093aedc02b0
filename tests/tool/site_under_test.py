"""The generated site the tool's tests deploy: baked once through cookiecutter, shared by every
test process (xdist's workers wait for the one baking), and baked again when the template changes.

FLASK_FARGATE_TEST_SITE picks the answers (VARIANTS): `default` runs every test; the others run
the tests marked `answers`, whose outcome depends on the answers (the Makefile's `test`).
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bakery import first_commit

from flask_fargate import site

TEMPLATE = Path(__file__).resolve().parents[2]
# The longest apex ACM certifies (64 characters), and the longest the hooks take without a
# certificate (124, so that www.<domain> fits a listener rule's host-header value of 128); DNS
# labels have at most 63. The second is digit-first too (its slug gains a "site-" prefix).
LONGEST_WITH_SSL = "a" * 60 + ".com"
LONGEST = ".".join(["7" + "a" * 62, "a" * 56, "com"])
VARIANTS = {
    "default": {},
    # Its own zone at another DNS provider, no HTTPS, GitHub's deploy role, a NAT gateway per zone.
    "external-dns": {
        "domain": LONGEST,
        "ssl": "no",
        "github_repo": "acme/site",
        "nat_gateways": "per_zone",
        "dns": "external",
    },
    # On another site's load balancer (a stand-in host), on Graviton, Spot beside on-demand,
    # traffic shifted by a canary.
    "joining": {
        "domain": LONGEST_WITH_SSL,
        "host_site": "example-com",
        "cpu_architecture": "arm64",
        "capacity": "mixed",
        "deploy_strategy": "canary",
    },
}
VARIANT = os.environ.get("FLASK_FARGATE_TEST_SITE", "default")
# What a bake depends on: the template's files.
SOURCES = [
    TEMPLATE / "cookiecutter.json",
    TEMPLATE / "hooks",
    TEMPLATE / "{{cookiecutter.domain_slug}}",
]


def template_digest():
    digest = hashlib.sha256()
    for source in SOURCES:
        for path in sorted([source] if source.is_file() else source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(TEMPLATE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def bake(variant):
    """The site folder for that variant's answers, with a first commit (image tags read git)."""
    answers = VARIANTS[variant]
    root = Path(tempfile.gettempdir()) / f"flask-fargate-tool-tests-{os.getuid()}"
    root.mkdir(exist_ok=True)
    key = hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()[:6]
    output = root / f"{variant}-{template_digest()}-{key}"
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (output / "baked").exists():
            shutil.rmtree(output, ignore_errors=True)
            pairs = [f"{name}={value}" for name, value in answers.items()]
            command = [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input"]
            subprocess.run([*command, "-o", str(output), *pairs], check=True, capture_output=True)
            (folder,) = (path for path in output.iterdir() if path.is_dir())
            first_commit(folder)
            (output / "baked").write_text(folder.name)
    return output / (output / "baked").read_text()


FOLDER = bake(VARIANT)
SITE = site.find(FOLDER)
