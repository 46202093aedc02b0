"""The site plus a slow page, for the tests that stop the server while a request is in flight.

container/entrypoint serves it when the tests set APP_MODULE=slow_app:app.
"""

import os
import time
from pathlib import Path

from flask import request

from app import create_app

STARTED = Path(os.environ["SCRATCH_DIR"]) / "slow-request-started"  # what the tests wait for

app = create_app()


@app.get("/slow")
def slow():
    STARTED.touch()
    time.sleep(float(request.args.get("seconds", "2")))
    return "done"
