"""The moto server, on a free loopback port, with every rule of this package applied.

While it runs, moto's classes are patched in this process; they are restored when it stops.
"""

import contextlib
import logging
import warnings

from moto.cloudformation import parsing
from moto.server import ThreadedMotoServer

from flask_fargate.standin import deployments, rules, sharing, tasks

MISSING = object()
# moto finds resource types among CloudFormationModel's subclasses, and caches what it found.
MODEL_CACHES = [parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map]


@contextlib.contextmanager
def moto_server():
    """Yield the endpoint URL of a moto server taught the AWS rules of rules.py, and those of
    tasks.py (one-off tasks and the secrets), deployments.py (ECS's deployments) and sharing.py
    (sites sharing a load balancer), which build on rules.py."""
    patches = [*rules.PATCHES, *tasks.PATCHES, *deployments.PATCHES, *sharing.PATCHES]
    # Read before any is applied: an attribute patched twice gets moto's own back.
    originals = [(owner, name, vars(owner).get(name, MISSING)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    for cache in MODEL_CACHES:
        cache.cache_clear()
    # Its request log, and moto's notes on each resource type it only pretends to create, would
    # bury what the deploy tool says (and a failing test's own output).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("moto").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        with warnings.catch_warnings():
            # moto's UserWarnings on its own shortcomings ("Tried to parse AWS::...", "Unable to
            # delete ..."), which only moto's modules raise; any other warning still shows.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"moto\.")
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
    finally:
        server.stop()
        for owner, name, original in originals:
            if original is MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
