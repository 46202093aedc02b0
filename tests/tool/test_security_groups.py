"""EC2's character rules for security group descriptions, which moto does not know and
cfn-lint does not check: the stand-in refuses what EC2 refuses (standin/rules.py)."""

import pytest
from test_deploy import (
    FirstImage,
    aws,
    deploy,
    endpoint,
    fresh_account,
    replacing,
    site_overrides,
    use_edited_template,
)

from flask_fargate import image

__all__ = ["aws", "deploy", "endpoint", "fresh_account"]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")

OWN_WORDS = "requests and health checks to the container port of the tasks, in the VPC only"


def test_a_rule_description_ec2_refuses_fails_the_first_deploy(aws, deploy, monkeypatch, tmp_path):
    """An apostrophe, allowed nowhere in a rule's description (EC2 API Reference, IpRange)."""
    apostrophe = replacing(OWN_WORDS, "requests to the tasks' container port")
    use_edited_template(monkeypatch, tmp_path, "resources", apostrophe)

    monkeypatch.setattr(image, "Delivery", FirstImage)
    status, out, err = deploy("up", "--yes", *site_overrides(aws))

    assert status == 1, out + err
    assert 'Invalid rule description: "requests to the tasks\' container port"' in out + err
