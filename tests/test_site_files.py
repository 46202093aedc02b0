"""What a site holds, baked in-process by pytest-cookies. Every file here is one each site owner
reads and keeps, so a new one is added to this list on purpose (README: the site holds the site;
the deploy tool, its stand-in and their tests live in this repository)."""

import pytest

SITE = {
    ".cookiecutter.json",
    ".dockerignore",
    ".gitignore",
    ".pre-commit-config.yaml",
    "Dockerfile",
    "Makefile",
    "README.md",
    "app/__init__.py",
    "app/static/favicon.ico",
    "app/static/robots.txt",
    "app/static/style.css",
    "app/static_urls.py",
    "app/templates/index.html",
    "app/views.py",
    "cloudformation/resources.yaml",
    "cloudformation/service.yaml",
    "container/entrypoint",
    "container/gunicorn.conf.py",
    "container/nginx.conf",
    "pyproject.toml",
    "requirements-checkov.in",
    "requirements-checkov.txt",
    "requirements-dev.in",
    "requirements-dev.txt",
    "requirements-tool.txt",
    "requirements.in",
    "requirements.txt",
    "tests/conftest.py",
    "tests/probe_app.py",
    "tests/test_app.py",
    "tests/test_rehearse.py",
    "tests/test_serve.py",
}
# A site deployed from GitHub Actions: its CI, its deploy, and the updates of what it pins.
GITHUB = {".github/dependabot.yml", ".github/workflows/ci.yml", ".github/workflows/deploy.yml"}


def files(result) -> set[str]:
    assert result.exit_code == 0, result.exception
    project = result.project_path
    return {path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file()}


@pytest.mark.parametrize(
    "answers",
    [{}, {"dns": "external", "ssl": "no"}, {"host_site": "example-com", "domain": "shop.example"}],
    ids=["defaults", "dns-external-no-ssl", "joining"],
)
def test_a_site_without_github_holds_the_site_and_nothing_else(cookies, answers):
    assert files(cookies.bake(extra_context=answers)) == SITE


def test_a_github_site_adds_its_workflows_and_updates_and_nothing_else(cookies):
    baked = files(cookies.bake(extra_context={"github_repo": "acme/site"}))
    assert baked - SITE == GITHUB
    assert SITE <= baked
