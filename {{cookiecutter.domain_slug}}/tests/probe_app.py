"""The site plus routes of the tests' own, so that no test depends on what the site's pages say.

container/entrypoint serves it when the serve tests set APP_MODULE=probe_app:app; tests/test_app.py
registers the same blueprint on its app.
"""

import hashlib
import os
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, request, session, url_for

from app import create_app

probe = Blueprint("probe", __name__, url_prefix="/probe")


@probe.get("/seen")
def seen():
    """What the app makes of the request it got through its proxy."""
    return {"client": request.remote_addr, "url": url_for("probe.seen", _external=True)}


@probe.get("/static-url/<path:filename>")
def static_url(filename):
    """The URL the app writes for a static file."""
    return url_for("static", filename=filename)


@probe.get("/config/<name>")
def config_digest(name):
    """The SHA-256 of app.config[name], for the tests that check a secret arrived unseen."""
    if name not in current_app.config:
        abort(404)
    return hashlib.sha256(str(current_app.config[name]).encode()).hexdigest()


@probe.get("/session")
def start_session():
    """Puts something in the session, so the answer sets the session cookie."""
    session["probe"] = "seen"
    return "ok"


@probe.get("/referrer-policy")
def referrer_policy():
    """Sends a Referrer-Policy of the app's own, which nginx must not override."""
    return "ok", 200, {"Referrer-Policy": "no-referrer"}


@probe.get("/slow")
def slow():
    """Answers after ?seconds=, for the tests that stop the server while a request is in flight."""
    (Path(os.environ["SCRATCH_DIR"]) / "slow-request-started").touch()  # what those tests wait for
    time.sleep(float(request.args.get("seconds", "2")))
    return "done"


app = create_app()
app.register_blueprint(probe)
