"""Sites made before keep working (issue 19.7): a site generated from landed main (5b0bf44), which
vendored the deploy tool as `deploy/`, takes `cruft update` to this template and then deploys on
the stand-in with the tool it now pins.

The template cruft updates from is a `git clone` of this repository, at the clone's HEAD: the
commit checked out here, as committed. cruft reads commits only, so changes not yet committed
in this working tree are not what it sees (commit them before trusting this test with them).
The tool that rehearses is this checkout's src/, uncommitted changes included. Nothing reaches
the network: cruft's template is the clone's path, and the rehearsal runs on the stand-in.
"""

import os
import re
import sys
import tomllib
from pathlib import Path

import pytest
from bakery import GIT_IDENTITY, must, run

REPOSITORY = Path(__file__).resolve().parent.parent
LANDED_MAIN = "5b0bf44"  # the last commit whose sites vendored the tool as deploy/
CRUFT = Path(sys.executable).with_name("cruft")
ENV = {
    **os.environ,
    **GIT_IDENTITY,
    # this checkout's tool, not whichever the venv installed
    "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPOSITORY / "src"), os.environ.get("PYTHONPATH")])
    ),
}


@pytest.fixture
def template(tmp_path) -> tuple[Path, str]:
    """A clone of this repository, as cruft would clone it from GitHub, and its HEAD commit."""
    clone = tmp_path / "template"
    must("git", "clone", "--quiet", REPOSITORY, clone, cwd=tmp_path)
    if run("git", "cat-file", "-e", f"{LANDED_MAIN}^{{commit}}", cwd=clone).returncode != 0:
        pytest.fail(
            f"commit {LANDED_MAIN} (landed main, whose sites vendored deploy/) is not in this "
            "repository's history (a shallow clone?): fetch the full history, "
            "e.g. `git fetch --unshallow`"
        )
    return clone, must("git", "rev-parse", "HEAD", cwd=clone).strip()


def site_from_landed_main(tmp_path, clone: Path, edit=lambda site: None) -> Path:
    """`cruft create` at 5b0bf44 with the default answers, edited, committed."""
    sites = tmp_path / "sites"
    must(
        CRUFT,
        "create",
        clone,
        "--checkout",
        LANDED_MAIN,
        "--no-input",
        "--output-dir",
        sites,
        cwd=tmp_path,
    )
    site = sites / "example-com"
    assert (site / "deploy" / "__main__.py").is_file(), "5b0bf44 vendored the tool as deploy/"
    edit(site)
    must("git", "init", "--quiet", cwd=site)
    must("git", "add", "--all", cwd=site)
    must("git", "commit", "--quiet", "--message", "Made from landed main", cwd=site)
    return site


def update(site: Path, commit: str) -> str:
    return must(CRUFT, "update", "--skip-apply-ask", "--checkout", commit, cwd=site)


def files(site: Path) -> list[Path]:
    return [p for p in site.rglob("*") if p.is_file() and ".git" not in p.relative_to(site).parts]


def test_a_site_from_landed_main_updates_with_cruft_and_deploys_on_the_stand_in(tmp_path, template):
    clone, head = template
    site = site_from_landed_main(tmp_path, clone)

    update(site, head)

    every = files(site)
    assert not [p for p in every if p.suffix in (".rej", ".orig")], "cruft left rejected hunks"
    conflicted = [p for p in every if re.search(rb"^<<<<<<< ", p.read_bytes(), re.MULTILINE)]
    assert not conflicted, f"conflict markers in {conflicted}"
    assert not (site / "deploy").exists(), "the vendored tool is gone"
    assert not list((site / "tests").glob("test_deploy*.py"))
    assert not (site / "tests" / "test_external_dns.py").exists()
    # tool_source() for a template cruft cloned from a local path: the clone's file:// URL at the
    # commit cruft checked out, with a host, which the pip of Python 3.11 (23.x) takes.
    pin = (site / "requirements-tool.txt").read_text().splitlines()[-1]
    url = clone.resolve().as_uri().replace("file:///", "file://localhost/")
    assert pin == f"flask-fargate[standin] @ git+{url}@{head}"
    resolved = run(
        sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-build-isolation",
        "--quiet", "--requirement", "requirements-tool.txt", cwd=site, env=ENV,
    )  # fmt: skip
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    settings = tomllib.loads((site / "pyproject.toml").read_text())["tool"]
    assert "deploy" not in settings
    assert settings["flask-fargate"] == {
        "domain": "example.com",
        "slug": "example-com",
        "region": "eu-west-1",
        "before": "",
    }

    rehearsal = run(sys.executable, "-m", "flask_fargate", "rehearse", cwd=site, env=ENV)
    assert rehearsal.returncode == 0, rehearsal.stdout + rehearsal.stderr
    assert "Rehearsal passed" in rehearsal.stdout


def test_what_cruft_leaves_by_hand_when_the_site_set_before_and_edited_deploy(tmp_path, template):
    """A `before` set under [tool.deploy], or an edited file of deploy/, is a change cruft's
    three-way merge cannot place (the site's repository lacks the old template's blob): it falls
    back to `git apply --reject`, applies the rest, leaves pyproject.toml.rej and the edited
    file, and stages nothing. The CHANGELOG says what to do next; this does it."""
    clone, head = template
    before = "flask --app app db upgrade"

    def edit(site):
        settings = site / "pyproject.toml"
        settings.write_text(settings.read_text().replace('before = ""', f'before = "{before}"'))
        with (site / "deploy" / "cli.py").open("a") as cli:
            cli.write("# the site's own change\n")

    site = site_from_landed_main(tmp_path, clone, edit)

    update(site, head)

    rejected = [p.relative_to(site) for p in files(site) if p.suffix == ".rej"]
    assert rejected == [Path("pyproject.toml.rej")]
    assert [p.name for p in (site / "deploy").iterdir()] == ["cli.py"], "only the edited file stays"
    assert (site / "requirements-tool.txt").is_file()
    assert not list((site / "tests").glob("test_deploy*.py"))
    settings = (site / "pyproject.toml").read_text()
    assert "[tool.flask-fargate]" not in settings and f'before = "{before}"' in settings
    assert "[tool.flask-fargate]" in (site / "pyproject.toml.rej").read_text()

    # By hand, as the CHANGELOG says: the table renamed, with the answers the tool reads.
    (site / "pyproject.toml").write_text(
        settings.replace(
            "[tool.deploy]\n",
            '[tool.flask-fargate]\ndomain = "example.com"\nslug = "example-com"\nregion = "eu-west-1"\n',
        )
    )
    (site / "pyproject.toml.rej").unlink()
    (site / "deploy" / "cli.py").unlink()
    (site / "deploy").rmdir()
    read = run(
        sys.executable,
        "-c",
        "from pathlib import Path; from flask_fargate import site; print(site.find(Path.cwd()))",
        cwd=site,
        env=ENV,
    )
    assert read.returncode == 0, read.stderr
    assert f"before='{before}'" in read.stdout and "slug='example-com'" in read.stdout
