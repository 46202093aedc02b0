"""`flask-fargate COMMAND`: the deploy commands (cli.py), and two with parsers of their own, loaded
only when run: `rehearse` needs the stand-in (moto), `local` a Docker engine."""

import importlib
import sys

from flask_fargate import cli
from flask_fargate.errors import Abort

ELSEWHERE = {"rehearse": "flask_fargate.standin.rehearse", "local": "flask_fargate.local"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ELSEWHERE:
        return cli.main(argv)
    try:
        return importlib.import_module(ELSEWHERE[argv[0]]).main(argv[1:])
    except Abort as stop:  # the deploy commands' cli.main says its own
        from flask_fargate.ui import fail

        fail(stop.message)
        return stop.status
