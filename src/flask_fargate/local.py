"""`flask-fargate local`: the site's image on this machine's Docker engine, run as Fargate runs
the task (`make docker-run`). Needs a Docker engine; no AWS account or credentials.

It builds the image as `flask-fargate image` does and runs it with the container settings of
the task definition in cloudformation/service.yaml, for the parameters' defaults: read-only root
filesystem, init process, stop timeout, container port, and the environment values the template
holds itself (DOMAIN and SITE_URL, which the deploy tool passes, keep the image's defaults).
Each volume mount gets what Fargate gives a task's storage volume (see scratch_mount).
"""

import argparse
import http.client
import secrets
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass

import docker
from docker.types import Mount

from flask_fargate import cost, image, site
from flask_fargate.errors import Abort
from flask_fargate.ui import console, fail

HEALTH_PATH = "/health"


@dataclass(frozen=True)
class Task:
    """The service's container as a local engine can run it."""

    platform: str  # the image's, for the task definition's CpuArchitecture
    port: int
    read_only: bool
    init: bool
    stop_timeout: int  # seconds from SIGTERM to SIGKILL
    grace: int  # seconds a new task has to answer its health check
    scratch: tuple[str, ...]  # where its task storage volumes are mounted
    environment: dict[str, str]


def setting(template, value):
    """A task definition value for the parameters' defaults; None where only AWS knows it
    (imports, pseudo parameters, parameters without a default)."""
    if not isinstance(value, dict):
        return value
    ((function, arguments),) = value.items()
    if function == "Ref":
        return template["Parameters"].get(arguments, {}).get("Default")
    if function == "Fn::If":
        condition, if_true, if_false = arguments
        return setting(template, if_true if cost._holds(template, condition) else if_false)
    if function == "Fn::FindInMap":
        name, key, field = (setting(template, argument) for argument in arguments)
        return template["Mappings"][name].get(key, {}).get(field)
    return None


def read_task(path=None):
    from cfnlint.decode import cfn_yaml  # takes a second to load: only when a task runs

    template = cfn_yaml.load(str(path or site.current().templates / "service.yaml"))
    resources = template["Resources"]
    (container,) = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    (mapping,) = container["PortMappings"]
    environment = {
        variable["Name"]: setting(template, variable["Value"])
        for variable in container.get("Environment", [])
    }
    linux = container.get("LinuxParameters", {})
    service = resources["Service"]["Properties"]
    runtime = resources["TaskDefinition"]["Properties"]["RuntimePlatform"]
    return Task(
        platform=image.PLATFORMS[setting(template, runtime["CpuArchitecture"])],
        port=int(setting(template, mapping["ContainerPort"])),
        read_only=bool(setting(template, container.get("ReadonlyRootFilesystem", False))),
        init=bool(setting(template, linux.get("InitProcessEnabled", False))),
        stop_timeout=int(setting(template, container.get("StopTimeout", 30))),
        grace=int(setting(template, service.get("HealthCheckGracePeriodSeconds", 0))),
        scratch=tuple(mount["ContainerPath"] for mount in container.get("MountPoints", [])),
        environment={name: str(value) for name, value in environment.items() if value is not None},
    )


def scratch_mount(path, declared):
    """What Fargate mounts at `path` for a task storage volume, as a new engine volume.

    Fargate mounts such a volume empty, root-owned, mode 0755, unless the image declares VOLUME
    at that path (`declared`): then it copies the image's folder in, owner and mode included. A
    new engine volume is empty, root-owned, 0755, and the engine fills it the same way unless
    told not to. (A bind mount of a host folder would carry that folder's owner on the host, root
    only where the client runs as root, and Docker Desktop maps owners its own way.)
    """
    return Mount(target=path, source=None, type="volume", no_copy=not declared)


@contextmanager
def running(client, reference, task, port):
    """The task's container from image `reference`, its port published on 127.0.0.1:`port`.

    Removed afterwards, with its volumes and its network: a network of its own, as each Fargate
    task has, which also works where the engine has no default bridge (dockerd --bridge=none).
    """
    declared = client.images.get(reference).attrs["Config"].get("Volumes") or {}
    network = client.networks.create(
        f"{site.current().slug}-local-{secrets.token_hex(3)}", driver="bridge"
    )
    try:
        host_config = client.api.create_host_config(
            port_bindings={task.port: ("127.0.0.1", port)},
            read_only=task.read_only,
            init=task.init,
            mounts=[scratch_mount(path, path in declared) for path in task.scratch],
            network_mode=network.name,
        )
        created = client.api.create_container(
            reference,
            ports=[task.port],
            environment=task.environment,
            host_config=host_config,
            stop_timeout=task.stop_timeout,
        )
        container = client.containers.get(created["Id"])
        try:
            container.start()
            yield container
        finally:
            container.remove(v=True, force=True)
    finally:
        network.remove()


def wait_until_healthy(container, port, seconds):
    """Return once the container answers its health check on `port`, as the load balancer asks."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "exited":
            code = container.attrs["State"]["ExitCode"]
            last = container.logs(tail=1).decode().strip()
            raise Abort(
                f"the container exited with status {code} before answering {HEALTH_PATH}: {last}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=2):  # noqa: S310 - a fixed local address
                return
        except (OSError, http.client.HTTPException):  # not listening yet, or not healthy
            time.sleep(0.2)
    raise Abort(f"the container did not answer {HEALTH_PATH} with 200 within {seconds} s")


def print_logs(container):
    for chunk in container.logs(stream=True, follow=True):
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()


def serve(client, task, port):
    """Run the image until Ctrl-C, which stops it as ECS stops a task; return its exit status."""
    with running(client, reference(), task, port) as container:
        printer = threading.Thread(target=print_logs, args=(container,), daemon=True)
        printer.start()
        try:
            wait_until_healthy(container, port, task.grace)
            console.print(
                f"{site.current().domain} runs as on Fargate: open http://127.0.0.1:{port} "
                "(Ctrl-C stops it as ECS does)",
                style="bold green",
            )
            status = container.wait()["StatusCode"]
        except KeyboardInterrupt:
            console.print(
                f"Stopping as ECS does: SIGTERM, then SIGKILL after {task.stop_timeout} s"
            )
            container.stop()
            status = container.wait()["StatusCode"]
        printer.join()
    console.print(f"The container exited with status {status}")
    return status


def reference():
    return f"{site.current().slug}:local"


def port_number(text):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text}: expected a port number, 1 to 65535")
    return int(text)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="flask-fargate local",
        description="Build the site's image and run it here as Fargate runs the task.",
    )
    parser.add_argument(
        "--port", type=port_number, default=8080, help="where on 127.0.0.1 (default 8080)"
    )
    options = parser.parse_args(argv)
    try:
        folder = site.current().folder  # a site's folder first, before asking anything of Docker
        client = image.docker_engine(otherwise="")
        task = read_task()
        image.check_platform(client, task.platform)
        image.build(client, folder, reference(), task.platform)
        return serve(client, task, options.port)
    except docker.errors.APIError as error:
        fail(f"docker: {error.explanation or error}")
        return 1
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
