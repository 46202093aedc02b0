"""Day two: regenerate a site from its recorded answers, and take template updates with cruft."""

import json
import os
import shlex
import sys
from pathlib import Path

import pytest
from bakery import (
    COOKIECUTTER,
    GIT_IDENTITY,
    TEMPLATE,
    answers_for,
    bake_cli,
    copy_template,
    must,
    run,
)

CRUFT = Path(sys.executable).with_name("cruft")
# A user who installed cruft has it on PATH: the hooks then print commands beginning `cruft`.
CRUFT_ON_PATH = {
    **os.environ,
    **GIT_IDENTITY,
    "PATH": os.pathsep.join([str(CRUFT.parent), os.environ.get("PATH", "")]),
}
ANSWERS = {
    "domain": "shop.example.org",
    "ssl": "no",
    "nat_gateways": "shared",
    "desired_count": "3",
    "max_count": "6",
    "alarm_email": "ops@example.org",
    "dynamodb_access": "yes",
    "github_repo": "acme/shop",
    "python_version": "3.13",
}


def tree(root: Path) -> dict[Path, bytes]:
    return {
        path.relative_to(root): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def commit_all(repo: Path, message: str) -> str:
    must("git", "add", "--all", cwd=repo)
    must("git", "commit", "--quiet", "--message", message, cwd=repo)
    return must("git", "rev-parse", "HEAD", cwd=repo).strip()


def test_answers_file_is_in_replay_format_without_run_time_keys(tmp_path):
    bake = bake_cli(tmp_path, **ANSWERS)
    assert bake.returncode == 0, bake.stderr

    recorded = json.loads((bake.project / ".cookiecutter.json").read_text())
    questions = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    assert list(recorded) == ["cookiecutter"]
    assert set(recorded["cookiecutter"]) == set(questions) - {"__prompts__"}
    assert (
        recorded["cookiecutter"]["ssl"] is False
        and recorded["cookiecutter"]["dynamodb_access"] is True
    )
    assert recorded["cookiecutter"]["domain_slug"] == "shop-example-org"


def test_replay_file_regenerates_the_same_tree(tmp_path):
    template = copy_template(tmp_path / "template")  # both bakes from the same files
    first = bake_cli(tmp_path / "first", template=template, **ANSWERS)
    assert first.returncode == 0, first.stderr

    replay = tmp_path / "replayed"
    must(
        *COOKIECUTTER,
        template,
        "--replay-file",
        first.project / ".cookiecutter.json",
        "--output-dir",
        replay,
        cwd=tmp_path,
    )

    (project,) = replay.iterdir()
    assert project.name == first.project.name
    assert tree(project) == tree(first.project)


@pytest.fixture
def template_repo(tmp_path) -> Path:
    """A local git copy of the template, as cruft would clone it from GitHub."""
    repo = copy_template(tmp_path / "flask-fargate")
    must("git", "init", "--quiet", "--initial-branch", "main", cwd=repo)
    commit_all(repo, "template as it is")
    return repo


def test_cruft_creates_checks_and_updates_a_site(tmp_path, template_repo):
    sites = tmp_path / "sites"
    sites.mkdir()
    created = must(
        CRUFT,
        "create",
        template_repo,
        "--no-input",
        "--output-dir",
        sites,
        "--extra-context",
        json.dumps(ANSWERS),
        cwd=tmp_path,
    )
    site = sites / "shop-example-org"
    assert "USD a month, idle" in created and "Next steps:" in created
    first_commit = must("git", "rev-parse", "HEAD", cwd=template_repo).strip()
    assert json.loads((site / ".cruft.json").read_text())["commit"] == first_commit
    must(CRUFT, "check", cwd=site)

    # The site's own repository, with a change of its own the update must keep.
    must("git", "init", "--quiet", "--initial-branch", "main", cwd=site)
    readme = site / "README.md"
    readme.write_text(readme.read_text().replace("## Layout", "Our shop.\n\n## Layout", 1))
    commit_all(site, "site as generated, plus our own words")

    # A newer template: a changed file and a new one, both rendered from the answers.
    template_readme = template_repo / "{{cookiecutter.domain_slug}}" / "README.md"
    template_readme.write_text(
        template_readme.read_text() + "\n## Support\n\nAsk {{ cookiecutter.alarm_email }}.\n"
    )
    (template_repo / "{{cookiecutter.domain_slug}}" / "SECURITY.md").write_text(
        "# {{ cookiecutter.domain }}\n"
    )
    second_commit = commit_all(template_repo, "template: support section, security policy")
    assert run(CRUFT, "check", cwd=site).returncode != 0, "cruft check sees the newer template"

    updated = must(CRUFT, "update", "--skip-apply-ask", cwd=site)
    # cruft renders the template twice into temporary folders to compare; the hooks keep quiet there.
    assert "USD a month, idle" not in updated and "Next steps:" not in updated

    text = readme.read_text()
    assert "Our shop." in text and "## Support\n\nAsk ops@example.org." in text
    assert text.count("<!-- cost report: begin -->") == 1
    assert (site / "SECURITY.md").read_text() == "# shop.example.org\n"
    assert not list(site.rglob("*.rej")), "the update applied without conflicts"
    assert json.loads((site / ".cruft.json").read_text())["commit"] == second_commit
    must(CRUFT, "check", cwd=site)


def command_to_bake_again(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("To bake again"))
    return shlex.split(lines[index + 1])


def test_refused_cruft_answers_come_back_as_the_cruft_command_to_correct(tmp_path, template_repo):
    """Under cruft the command to bake again is cruft's: `create` with every answer, or
    `update --variables-to-update` with the refused ones (the rest are in .cruft.json)."""
    sites = tmp_path / "sites"
    sites.mkdir()
    refused = run(
        CRUFT,
        "create",
        template_repo,
        "--no-input",
        "--output-dir",
        sites,
        "--extra-context",
        json.dumps({**ANSWERS, "memory": "3"}),
        cwd=sites,
        env=CRUFT_ON_PATH,
    )
    assert refused.returncode != 0
    command = command_to_bake_again(refused.stderr)
    assert command[:5] == ["cruft", "create", str(template_repo), "--no-input", "--extra-context"]
    given = json.loads(command[5])
    assert list(given)[-1] == "memory" and given == {
        **{key: value for key, value in given.items() if key not in ANSWERS},
        **ANSWERS,
        "memory": "3",
        "ssl": False,
        "dynamodb_access": True,
    }
    assert list(sites.iterdir()) == []

    must(CRUFT, *command[1:5], json.dumps({**given, "memory": "512"}), cwd=sites)  # corrected
    site = sites / "shop-example-org"

    # A newer template that no longer takes 512 MiB with cpu 256.
    # Fargate's sizes, which the hook reads from the template's checkout (cruft's clone here).
    sizes = template_repo / "src" / "flask_fargate" / "fargate.py"
    sizes.write_text(sizes.read_text().replace("256: [512, 1024, 2048]", "256: [1024, 2048]", 1))
    commit_all(template_repo, "template: cpu 256 takes 1024 MiB at least")
    update = run(CRUFT, "update", "--skip-apply-ask", cwd=site, env=CRUFT_ON_PATH)

    assert update.returncode != 0
    assert command_to_bake_again(update.stderr) == [
        "cruft",
        "update",
        "--variables-to-update",
        '{"memory": "512"}',
    ]
    must(
        CRUFT, "update", "--skip-apply-ask", "--variables-to-update", '{"memory": "1024"}', cwd=site
    )
    assert (
        json.loads((site / ".cruft.json").read_text())["context"]["cookiecutter"]["memory"]
        == "1024"
    )


def test_replaying_a_site_made_before_the_nat_words_says_which_word_to_use(tmp_path):
    answers = {key: value for key, value in answers_for(**ANSWERS).items() if key[0] != "_"}
    replay = tmp_path / "before.json"  # a site's .cookiecutter.json, as such a site recorded it
    replay.write_text(json.dumps({"cookiecutter": {**answers, "nat_gateways": "1"}}))

    done = run(
        *COOKIECUTTER,
        TEMPLATE,
        "--replay-file",
        replay,
        "--output-dir",
        tmp_path / "again",
        cwd=tmp_path,
    )

    assert done.returncode != 0
    assert (
        'error: nat_gateways: "1" is not allowed; expected none, shared, per_zone '
        "(the earlier 0, 1 and 2 are none, shared and per_zone)"
    ) in done.stderr.splitlines()
    assert not (tmp_path / "again").exists() or list((tmp_path / "again").iterdir()) == []
