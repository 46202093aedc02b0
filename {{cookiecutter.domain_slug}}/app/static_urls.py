"""Static file URLs that change whenever the file changes, so browsers may keep them for a year.

`url_for("static", filename="style.css")` gives `/static/style.<hash>.css`, <hash> being the
start of the file's SHA-256. In the image and under `make serve` nginx answers those URLs itself
(container/nginx.conf), from links that container/entrypoint makes at start with hashed_names():
it loads this file by its path, so this file needs the standard library only. A task links only
the content it holds, so during a rollout an old task answers a new URL with 404, never with old
content that browsers would then keep for a year under the new URL.
"""

import hashlib
from pathlib import Path, PurePosixPath

HASH_LENGTH = 12  # hex digits; container/nginx.conf matches exactly this many


def hashed_names(folder):
    """{name: hashed name} for every file under folder, as paths relative to it (with /)."""
    folder = Path(folder)
    names = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            name = PurePosixPath(path.relative_to(folder).as_posix())
            with path.open("rb") as file:
                digest = hashlib.file_digest(file, "sha256").hexdigest()[:HASH_LENGTH]
            names[str(name)] = str(name.with_name(f"{name.stem}.{digest}{name.suffix}"))
    return names


def hash_static_urls(app):
    """Make url_for("static", ...) give hashed URLs, which the app answers too (without nginx:
    the test client, `flask run`). The hashes are taken once, here: restart to see a change."""
    names = hashed_names(app.static_folder)
    files = {hashed: name for name, hashed in names.items()}

    @app.url_defaults
    def hashed_filename(endpoint, values):
        if endpoint == "static" and values.get("filename") in names:
            values["filename"] = names[values["filename"]]

    send_static_file = app.view_functions["static"]

    def static(filename):
        return send_static_file(filename=files.get(filename, filename))

    app.view_functions["static"] = static
