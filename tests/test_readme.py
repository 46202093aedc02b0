"""The site README, generated for each answer combination, names only what the site has, and
says what is true for its answers; the tool's reference in docs/ names only what exists too."""

import re
from pathlib import Path

import pytest
from bakery import QUESTIONS, TEMPLATE, bake_cli
from cfnlint.decode import decode_str

DOCS = TEMPLATE / "docs"
# The commands of `flask-fargate` (issue 19): `rehearse` was `python -m deploy.rehearse`,
# `local` was `python -m deploy.local`.
COMMANDS = {
    "up", "plan", "image", "status", "logs", "ns", "destroy", "rollback", "run", "secret",
    "rehearse", "local",
}  # fmt: skip
LONGEST = 250  # lines, as generated, cost report included

SITES = {
    "defaults": {},
    "joined-arm64-canary-external": {
        "domain": "blog.example.org",
        "host_site": "example-com",
        "cpu_architecture": "arm64",
        "deploy_strategy": "canary",
        "dns": "external",
    },
    "subdomain-github-no-ssl": {
        "domain": "shop.my-company.co.uk",
        "github_repo": "acme/shop",
        "ssl": "no",
    },
    "mixed-deep-subdomain-zone-given": {
        "domain": "a.b.example.com",
        "capacity": "mixed",
        "hosted_zone_id": "Z0123456789ABC",
        "github_repo": "acme/site",
        "github_subject": "names",
    },
    "spot-external-no-ssl": {"capacity": "spot", "dns": "external", "ssl": "no"},
}

# Backticked names that are paths in the site only once made, or not the site's:
NOT_IN_A_BAKE = {
    ".venv",  # made by `make venv`
    ".cruft.json",  # written by `cruft create`, not by cookiecutter
    "CHANGELOG.md",  # the template's and the tool's, beside cookiecutter.json
}
PATH = re.compile(r"`([A-Za-z0-9_.*-]+(?:/[A-Za-z0-9_.*-]*)*)`")
SUFFIXES = (".yaml", ".yml", ".py", ".txt", ".in", ".toml", ".md", ".json", "/")


@pytest.fixture(scope="module", params=list(SITES), ids=list(SITES))
def site(request, tmp_path_factory):
    answers = SITES[request.param]
    bake = bake_cli(tmp_path_factory.mktemp(request.param), **answers)
    assert bake.returncode == 0, bake.stderr
    return bake.project, answers, (bake.project / "README.md").read_text()


def named_paths(text):
    for name in PATH.findall(text):
        if name.endswith(SUFFIXES) or "/" in name and name.split("/")[0] in {
            "app", "container", "cloudformation", "tests", ".github",
        }:  # fmt: skip
            yield name


def parameters(project):
    found = {}
    for path in (project / "cloudformation").glob("*.yaml"):
        template, matches = decode_str(path.read_text())
        assert not matches, path
        found.update(template["Parameters"])
    return found


def test_the_readme_fits_in_250_lines(site):
    _, _, readme = site
    assert len(readme.splitlines()) <= LONGEST


def test_every_make_target_it_names_is_in_the_makefile(site):
    project, _, readme = site
    makefile = (project / "Makefile").read_text()
    targets = set(re.findall(r"(?m)^([a-z][a-z-]*):", makefile))
    named = set(re.findall(r"(?m)(?:^|`)make ([a-z][a-z-]*)", readme))
    assert named and named <= targets, named - targets


def test_every_tool_command_it_names_exists(site):
    _, _, readme = site
    named = set(re.findall(r"(?:`|bin/)flask-fargate ([a-z][a-z-]*)", readme))
    assert named and named <= COMMANDS, named - COMMANDS


def test_every_file_it_names_is_in_the_bake(site):
    project, _, readme = site
    missing = [
        name
        for name in named_paths(readme)
        if name.rstrip("/") not in NOT_IN_A_BAKE and not list(project.glob(name.rstrip("/")))
    ]
    assert not missing


def test_every_parameter_it_sets_is_a_stack_parameter_and_takes_the_value(site):
    project, _, readme = site
    known = parameters(project)
    given = re.findall(r"--set ([A-Za-z0-9]+)=([^\s\"`]+)", readme)
    assert given
    for name, value in given:
        assert name in known, name
        allowed = known[name].get("AllowedValues")
        assert allowed is None or value in allowed, (name, value)


def test_every_docs_page_it_links_exists_with_its_heading(site):
    _, _, readme = site
    links = re.findall(r"\]\(([^)\s]*docs/([A-Za-z-]+\.md)(?:#([a-z0-9-]+))?)\)", readme)
    assert {page for _, page, _ in links} >= {"README.md", "commands.md", "first-deploy.md"}
    # A bake from this checkout pins it: the links are its docs/ (the hook's tool_source).
    assert {link.split("/docs/")[0] for link, _, _ in links} == {str(TEMPLATE)}
    for _, page, anchor in links:
        assert (DOCS / page).is_file(), page
        if anchor:
            assert anchor in anchors(DOCS / page), f"{page}#{anchor}"


def test_it_says_what_is_true_for_the_answers(site):
    _, answers, readme = site
    if answers.get("host_site"):
        assert "do not exist" not in readme and "does not exist" not in readme
        assert f"**{answers['host_site']}**" in readme
    else:
        assert "generate each with `host_site`" in readme
    # The cost report compares both CPUs; the prose names the site's own.
    prose = re.sub(r"(?s)<!-- cost report: begin -->.*<!-- cost report: end -->", "", readme)
    if answers.get("cpu_architecture") == "arm64":
        assert "linux/arm64" in prose and "amd64" not in prose and "on **arm64**" in prose
        assert "on x86_64" not in prose and "**x86_64**" not in prose
    else:
        assert "linux/amd64" in prose and "linux/arm64" not in prose and "arm64 (AWS" not in prose
    domain = answers.get("domain", "example.com")
    delegation = readme.split("### Pointing", 1)[1].split("\n## ", 1)[0]
    if answers.get("dns") == "external":
        assert "DNS stays at its provider" in delegation and "name servers" not in delegation
    elif answers.get("hosted_zone_id"):
        assert "nothing to delegate" in delegation and "registrar" not in delegation
    elif domain == "shop.my-company.co.uk":  # a subdomain
        assert f"add an NS record named {domain} in the zone of my-company.co.uk" in " ".join(
            delegation.split()
        )
        assert "registrar" not in delegation
    else:  # an apex domain
        assert "at your registrar" in delegation and "NS record" not in delegation
    # The Layout's line for resources.yaml: the network and load balancer are a host's own, the
    # DNS records the stack's only in Route 53.
    made = re.search(r"resources\.yaml: (.*) \(created once\)", readme)[1]
    assert ("DNS" in made) == (answers.get("dns") != "external")
    assert ("network, load balancer" in made) == (not answers.get("host_site"))
    scheme = "https" if answers.get("ssl", "yes") == "yes" else "http"
    assert f"{scheme}://{domain}" in readme
    if answers.get("ssl") == "no":
        assert "certificate's\nvalidation record" not in readme
    if answers.get("github_repo"):
        assert "## CI/CD" in readme and answers["github_repo"] in readme
    else:
        assert "## CI/CD" not in readme and ".github/" not in readme
    # Issue 20.19: these two sections are in every README, not only with a GitHub repository.
    assert "## CPU and capacity" in readme and "## Deploy strategies" in readme
    capacity = answers.get("capacity", "on_demand").replace("_", " ")
    assert f"**{capacity}** capacity" in " ".join(readme.split())
    assert f"**{answers.get('deploy_strategy', 'rolling')}** strategy" in readme
    # Its example of going back to ROLLING says when `up` refuses it (deployments.py), and only
    # a shifting site has that example.
    shifting = answers.get("deploy_strategy", "rolling") != "rolling"
    flat = " ".join(readme.split())
    assert ("--set DeploymentStrategy=ROLLING" in flat) == shifting
    refused = (
        "`ROLLING` is refused while the traffic is on the alternate target group (after every "
        "other deploy): deploy once more first, then change it."
    )
    assert (refused in flat) == shifting


def anchors(page: Path):
    """GitHub's ids for a Markdown page's headings."""
    return {
        re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"(?m)^#+ (.*)$", page.read_text())
    }


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda page: page.name)
def test_the_docs_are_plain_markdown_for_the_tool_as_it_is_named_now(page):
    text = page.read_text()
    assert "{{" not in text and "{%" not in text, "no Jinja: the docs are read as they are"
    assert "python -m deploy" not in text and "[tool.deploy]" not in text
    assert "deploy/" not in re.sub(r"workflows/deploy\.yml", "", text)
    named = set(re.findall(r"(?:`|bin/)flask-fargate ([a-z][a-z-]*)", text))
    assert named <= COMMANDS, named - COMMANDS
    for target, anchor in re.findall(r"\]\(([a-z-]+\.md)(?:#([a-z0-9-]+))?\)", text):
        assert (DOCS / target).is_file(), target
        if anchor:
            assert anchor in anchors(DOCS / target), f"{target}#{anchor}"


def test_the_stacks_page_names_every_parameter_and_output_of_each_stack(site):
    """docs/stacks.md says "Every parameter and output": each template's, in its stack's item."""
    project, _, _ = site
    items = (DOCS / "stacks.md").read_text().split("\n- `example-com-")
    for stack in ("resources", "service"):
        (item,) = [text.split("\n\n")[0] for text in items if text.startswith(f"{stack}` (")]
        template, _ = decode_str((project / "cloudformation" / f"{stack}.yaml").read_text())
        names = [*template["Parameters"], *template.get("Outputs", {})]
        assert [name for name in names if f"`{name}`" not in item] == [], stack


def test_the_docs_index_lists_every_page():
    index = (DOCS / "README.md").read_text()
    for page in DOCS.glob("*.md"):
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name


def test_the_template_readme_explains_every_question_once():
    """Issue 20.14: the questions table had left out four answers and counted the rest."""
    questions = [key for key in QUESTIONS if not key.startswith("_")]
    readme = (TEMPLATE / "README.md").read_text()
    table = readme.split("## Questions", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"(?m)^\| `([a-z_]+)` \|", table) == questions
    for word in ("Spot", "arm64", "canary", "external"):
        assert word in table, word
    assert not re.search(r"\b(fifteen|sixteen|seventeen|twenty)\b", readme)
