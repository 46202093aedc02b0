"""What a new site costs its owner, now and before the deploy tool became a package.

Bakes the default site from this checkout and from an earlier commit of the template (default
5b0bf44, the last with the tool copied into every site), one after the other in one run, and
measures for each: the files and lines the owner keeps (hashed locks counted apart), its first
`make venv`, `make test` after it, `make lint` (which installs checkov on first use), and the
tools on disk: the site's .venv and checkov's venv, wherever the site's Makefile puts it.
Targets (issue 19): `make test` <= 60 s on two cores; the site's tools <= 400 MB.

    .venv/bin/python benchmarks/site.py [--before 5b0bf44]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
COOKIECUTTER = Path(sys.executable).parent / "cookiecutter"
LOCKS = ("requirements.txt", "requirements-dev.txt", "requirements-checkov.txt")


def megabytes(folder: Path) -> int:
    if not folder.exists():
        return 0
    used = subprocess.run(["du", "-sk", folder], check=True, capture_output=True, text=True)
    return int(used.stdout.split()[0]) // 1024


def timed(command, cwd, env) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(
            f"{' '.join(command)} failed in {cwd}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return time.perf_counter() - start


def site_from(template: Path, scratch: Path, env) -> Path:
    output = scratch / "site"
    command = [COOKIECUTTER, template, "--no-input", "--output-dir", output]
    subprocess.run(command, check=True, capture_output=True, env=env)
    (site,) = output.iterdir()
    for git in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "First"]):
        subprocess.run(
            ["git", "-c", "user.name=b", "-c", "user.email=b@b", *git], cwd=site, check=True
        )
    return site


def measure(template: Path, scratch: Path) -> dict:
    cache = scratch / "cache"  # checkov's shared venv goes here, not into this machine's cache
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    env.pop("MAKEFLAGS", None)
    site = site_from(template, scratch, env)
    kept = subprocess.run(["git", "ls-files"], cwd=site, check=True, capture_output=True, text=True)
    paths = [site / name for name in kept.stdout.split()]
    lines = {path.name: len(path.read_bytes().splitlines()) for path in paths}
    figures = {
        "files": len(paths),
        "lines": sum(lines.values()),
        "lines without locks": sum(n for name, n in lines.items() if name not in LOCKS),
        "make venv (s)": timed(["make", "venv"], site, env),
        "make test (s)": timed(["make", "test"], site, env),
        "make lint (s)": timed(["make", "lint"], site, env),
    }
    figures["site .venv (MB)"] = megabytes(site / ".venv")
    # Only the Makefile's folder: pip keeps its download cache under XDG_CACHE_HOME too.
    figures["checkov shared by sites (MB)"] = megabytes(cache / "flask-fargate")
    figures["tools (MB)"] = figures["site .venv (MB)"] + figures["checkov shared by sites (MB)"]
    return figures


def exported(ref: str, folder: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref], cwd=TEMPLATE, check=True, capture_output=True)
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="5b0bf44", help="the template commit to compare with")
    before = parser.parse_args().before
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        old = measure(exported(before, scratch / "template"), scratch / "before")
        new = measure(TEMPLATE, scratch / "now")
    print(f"{'default site':28} {before:>10} {'now':>10} {'now/before':>11}")
    for name, was in old.items():
        print(f"{name:28} {was:10.0f} {new[name]:10.0f} {new[name] / was if was else 0:11.2f}")
    print("targets: make test <= 60 s on two cores; tools <= 400 MB (checkov is shared by sites)")


if __name__ == "__main__":
    main()
