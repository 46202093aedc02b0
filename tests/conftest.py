"""Fixtures and test order for the template's tests; the helpers are in bakery.py."""

from pathlib import Path

import pytest
from bakery import bake_cli


@pytest.fixture(scope="session")
def default_bake(tmp_path_factory) -> Path:
    """The default site, baked once per test session (per xdist worker)."""
    bake = bake_cli(tmp_path_factory.mktemp("default"))
    assert bake.returncode == 0, bake.stderr
    return bake.project


# The longest tests first (a site's whole suite per bake; the image built and run): the two CI
# workers then share them at the start and end together on short tests, not one waiting on
# the other's last long test.
LONGEST_FIRST = ("test_generated_suite.py", "test_image.py", "test_shared_load_balancer.py")
LONGEST_TESTS = ("test_stacks_lint_clean_in_every_offered_region",)  # cfn-lint, 34 regions


def pytest_collection_modifyitems(items):
    items.sort(
        key=lambda item: (
            item.path.name not in LONGEST_FIRST and item.originalname not in LONGEST_TESTS
        )
    )
