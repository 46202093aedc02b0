"""TEMPORARY (branch h3 only): a stand-in for the `tool_docs` filter another change provides.

`{{ cookiecutter._repo_dir | tool_docs("FILE.md") }}` renders to where the tool's docs/FILE.md
is read at the pinned version; here, until the real filter lands, to `docs/FILE.md`.
"""

from cookiecutter.utils import simple_filter


@simple_filter
def tool_docs(repo_dir, name):
    return f"docs/{name}"
