"""`flask-fargate COMMAND`: the deploy commands (cli.py), and two with parsers of their own, loaded
only when run: `rehearse` needs the stand-in (moto), `local` a Docker engine."""

import importlib
import sys

from flask_fargate import cli

ELSEWHERE = {"rehearse": "flask_fargate.standin.rehearse", "local": "flask_fargate.local"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ELSEWHERE:
        return importlib.import_module(ELSEWHERE[argv[0]]).main(argv[1:])
    return cli.main(argv)
