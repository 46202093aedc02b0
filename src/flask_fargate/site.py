"""The site the tool deploys: the folder it runs in, and what its pyproject.toml says of it.

A site's pyproject.toml holds a `[tool.flask-fargate]` table, written when the site was generated:

    [tool.flask-fargate]
    domain = "example.com"
    slug = "example-com"       # names the stacks, the cluster, the image repository
    region = "eu-west-1"
    before = ""                # a command run in a one-off task before each rollout

The tool finds it in the current folder or the nearest one above, as git finds its repository.
"""

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from flask_fargate.errors import USAGE, Abort

TABLE = "flask-fargate"
REQUIRED = ("domain", "slug", "region")


@dataclass(frozen=True)
class Site:
    folder: Path
    domain: str
    slug: str
    region: str
    before: str = ""

    @property
    def resources_stack(self):
        return f"{self.slug}-resources"

    @property
    def service_stack(self):
        return f"{self.slug}-service"

    @property
    def templates(self):
        return self.folder / "cloudformation"


def current():
    """The site whose folder (or a folder inside it) this process runs in."""
    return find(Path.cwd())


@functools.lru_cache(maxsize=8)
def find(start):
    for folder in (start, *start.parents):
        settings = folder / "pyproject.toml"
        if settings.is_file():
            table = tomllib.loads(settings.read_text()).get("tool", {}).get(TABLE)
            if table is not None:
                return read(folder, table, settings)
    raise Abort(
        f"{start}: no site here (a folder whose pyproject.toml has [tool.{TABLE}]): run "
        "flask-fargate from a site's folder",
        USAGE,
    )


def read(folder, table, settings):
    missing = [key for key in REQUIRED if not isinstance(table.get(key), str) or not table[key]]
    if missing:
        raise Abort(f"{settings}: [tool.{TABLE}] needs {', '.join(missing)}", USAGE)
    before = table.get("before", "")
    if not isinstance(before, str):
        raise Abort(f"{settings}: [tool.{TABLE}] before {before!r}: expected a string", USAGE)
    return Site(folder, table["domain"], table["slug"], table["region"], before)
