"""The stand-in an acceptance run can run against: the moto server of flask_fargate.standin, set
up as `make rehearse` sets it up (isolated credentials, the image step a recorded manifest)."""

import contextlib
import os
import warnings

from flask_fargate.standin import rehearse

MOTO_ACCOUNT = "123456789012"


@contextlib.contextmanager
def server():
    for key in rehearse.UNSET:
        os.environ.pop(key, None)
    os.environ.update(rehearse.ISOLATED)
    from flask_fargate import account, deployments, image
    from flask_fargate.standin.rules import PUBLIC_DNS
    from flask_fargate.standin.server import moto_server

    account.ROLE_PROPAGATION_SECONDS = 0  # moto's IAM is consistent at once
    deployments.POLL_SECONDS = 0  # the stand-in's deployment moves a stage each time it is asked
    image.Delivery = rehearse.StandInImage
    rehearse.stand_in_provider(PUBLIC_DNS)
    warnings.filterwarnings("ignore", message="Tried to parse AWS::")
    with moto_server() as endpoint:
        # The stand-in's account is moto's: the guard runs as on AWS, and always passes here.
        os.environ["FLASK_FARGATE_ACCEPTANCE_ACCOUNT"] = MOTO_ACCOUNT
        yield endpoint


def aws(endpoint, region):
    from flask_fargate.aws import Aws

    return Aws(region=region, endpoint_url=endpoint)
