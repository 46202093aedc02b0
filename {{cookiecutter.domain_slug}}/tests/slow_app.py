"""The site plus a slow page, for the tests that stop the server while a request is in flight.

container/entrypoint serves it when the tests set APP_MODULE=slow_app:app.
"""

import time

from flask import request

from app import create_app

app = create_app()


@app.get("/slow")
def slow():
    time.sleep(float(request.args.get("seconds", "2")))
    return "done"
