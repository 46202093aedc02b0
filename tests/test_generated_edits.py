"""A site's own tests pin what its owner keeps (status codes, headers, redirects, health, that the
page renders), never the words its owner is expected to replace."""

import subprocess
import sys

from conftest import bake_cli

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

# The generated tests that request pages: the app through its test client, and nginx + gunicorn.
PAGE_TESTS = ["tests/test_app.py", "tests/test_serve.py"]


def test_a_home_page_of_ones_own_breaks_no_generated_test(tmp_path):
    bake = bake_cli(tmp_path)
    assert bake.returncode == 0, bake.stderr
    (bake.project / "app" / "templates" / "index.html").write_text(OWN_HOME_PAGE)

    # The template's venv holds the same pinned packages as the project's requirements-dev.txt.
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *PAGE_TESTS],
        check=False,
        cwd=bake.project,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
