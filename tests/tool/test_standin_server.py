"""The stand-in server (flask_fargate/standin/server.py) as `make rehearse ARGS=--serve` runs it."""

import warnings

from flask_fargate.standin.server import moto_server


def test_the_stand_in_server_keeps_motos_warnings_and_shows_the_others():
    with moto_server(), warnings.catch_warnings(record=True) as shown:
        # moto's, as its CloudFormation warns of a resource type it lacks.
        warnings.warn_explicit(
            "Tried to parse AWS::SNS::Subscription but it's not supported",
            UserWarning, "parsing.py", 323, module="moto.cloudformation.parsing",
        )  # fmt: skip
        warnings.warn_explicit(
            "a warning of the tool's", UserWarning, "stacks.py", 1, module="flask_fargate.stacks"
        )
        warnings.warn_explicit(
            "moto's, of another kind", DeprecationWarning, "core.py", 1, module="moto.core"
        )
    assert [str(w.message) for w in shown] == ["a warning of the tool's", "moto's, of another kind"]
