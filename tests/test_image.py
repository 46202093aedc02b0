"""The site's image, built as `flask-fargate image` builds it and run as Fargate runs the task.

Both through the baked site's own code: deploy.image.build, and deploy.local (what `make
docker-run` runs), which applies the task definition's settings and Fargate's volume semantics.
Needs a Docker engine and the Dockerfile's base image; .ci/run starts one and makes the base
(no image registry is reachable there). Without an engine the tests skip, unless
DOCKER_EXPECTED=1 says one was started: then they fail.
"""

import http.client
import os
import re
import shutil
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from bakery import bake_cli

from flask_fargate import image as tool_image
from flask_fargate import local

# One build shared by all of them: the tests of a group run in one xdist worker.
pytestmark = pytest.mark.xdist_group("image")
EXPECTED = os.environ.get("DOCKER_EXPECTED") == "1"
PYTHON = "3.13"  # the Python of the base .ci/run makes from Debian trixie
ONE_YEAR = 365 * 24 * 3600


@dataclass
class Site:
    project: Path
    image: ModuleType  # the bake's deploy.image
    local: ModuleType  # the bake's deploy.local


def report(request, text):
    """Print past pytest's capture, so that CI logs show it: figures, never assertions."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{text}", file=sys.stderr)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port, path, headers=None):
    """GET path on the container's published port; (response, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response, response.read().decode()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def engine():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        reason = f"no Docker engine answers ({str(error).splitlines()[0]})"
        if EXPECTED:
            pytest.fail(f"{reason}, yet DOCKER_EXPECTED=1 says one was started")
        pytest.skip(reason)
    yield client
    client.close()


# What Docker engines report as their machine -> the cpu_architecture answer for it.
ANSWERS_FOR_MACHINE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


@pytest.fixture(scope="module")
def site(engine, tmp_path_factory):
    """A site baked with the base's Python and the engine's own CPU (built without emulation),
    the tool run in its folder."""
    architecture = ANSWERS_FOR_MACHINE[engine.info()["Architecture"]]
    bake = bake_cli(
        tmp_path_factory.mktemp("image"), python_version=PYTHON, cpu_architecture=architecture
    )
    assert bake.returncode == 0, bake.stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(bake.project)  # the tool reads the site it runs in
        yield Site(bake.project, tool_image, local)


def build(engine, site, project, request):
    """Build `project` with flask_fargate.image.build; its reference, removed afterwards."""
    reference = f"{project.name}-test:{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    site.image.build(engine, project, reference, site.local.read_task().platform)
    seconds = time.monotonic() - started
    size = engine.images.get(reference).attrs["Size"]
    report(request, f"image {reference}: {size / 1e6:.0f} MB, built in {seconds:.0f} s")
    request.addfinalizer(lambda: engine.images.remove(reference, force=True))
    return reference


@pytest.fixture(scope="module")
def image(engine, site, request):
    return build(engine, site, site.project, request)


@pytest.fixture(scope="module")
def task(site):
    return site.local.read_task()


@pytest.fixture(scope="module")
def served(engine, site, image, task):
    """The image running as the task runs: (container, port on 127.0.0.1)."""
    port = free_port()
    with site.local.running(engine, image, task, port) as container:
        site.local.wait_until_healthy(container, port, task.grace)
        yield container, port


def test_the_image_is_built_for_the_cpu_the_site_answered(engine, site, image, task):
    built = engine.images.get(image).attrs["Architecture"]

    assert task.platform == f"linux/{built}"
    assert ANSWERS_FOR_MACHINE[engine.info()["Architecture"]] == ANSWERS_FOR_MACHINE[built]


def test_health_check_without_forwarded_proto_is_answered_not_redirected(served):
    _, port = served

    response, body = get(port, "/health")

    assert response.status == 200, body
    assert response.getheader("Strict-Transport-Security") is None


def test_plain_http_at_the_load_balancer_is_redirected_to_https(served):
    _, port = served

    response, _ = get(port, "/about?x=1", {"Host": "example.com", "X-Forwarded-Proto": "http"})

    assert response.status == 301
    assert response.getheader("Location") == "https://example.com/about?x=1"


def test_https_at_the_load_balancer_gets_hsts(served):
    _, port = served

    response, body = get(port, "/", {"Host": "example.com", "X-Forwarded-Proto": "https"})

    assert response.status == 200, body
    assert response.getheader("Strict-Transport-Security") == f"max-age={ONE_YEAR}"


def test_nginx_serves_the_pages_stylesheet_from_the_read_only_image(served):
    _, port = served
    _, page = get(port, "/", {"Host": "example.com", "X-Forwarded-Proto": "https"})
    stylesheet = re.search(r'<link rel="stylesheet" href="(/static/[^"]+)"', page)[1]

    response, body = get(port, stylesheet, {"X-Forwarded-Proto": "https"})

    assert response.status == 200, body
    assert response.getheader("Content-Type") == "text/css"
    assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"


def test_the_container_runs_with_the_task_definitions_settings(served):
    container, _ = served

    def run(*command):
        result = container.exec_run(list(command))
        return result.exit_code, result.output.decode().strip()

    assert run("id", "-u") == (0, "10001")  # the image's user: the task sets none
    assert run("cat", "/proc/1/comm") == (0, "docker-init")  # InitProcessEnabled
    code, output = run("touch", "/site/written")
    assert code != 0 and "Read-only file system" in output  # ReadonlyRootFilesystem
    assert run("stat", "-c", "%u", "/tmp") == (0, "10001")  # the image's folder, copied in


def test_docker_stop_drains_and_exits_0_within_the_stop_timeout(engine, site, image, task):
    port = free_port()
    with site.local.running(engine, image, task, port) as container:
        site.local.wait_until_healthy(container, port, task.grace)

        container.stop()  # as `docker stop`: SIGTERM, SIGKILL after the container's stop timeout
        status = container.wait()["StatusCode"]
        logs = container.logs().decode()

    assert container.attrs["Config"]["StopTimeout"] == task.stop_timeout
    assert status == 0, logs  # a SIGKILL at the stop timeout would make it 137
    # No request reaches it after SIGTERM: it leaves the (absent) load balancer after the quiet.
    assert "SIGTERM received; health checks now fail" in logs
    assert "no request for 7 s; draining nginx, then gunicorn" in logs


def test_without_the_volume_declaration_the_task_cannot_write_its_scratch_folder(
    engine, site, task, request, tmp_path
):
    """What Fargate did to the image before the fix, and what the local run must do too."""
    variant = Path(shutil.copytree(site.project, tmp_path / "no-volume"))
    dockerfile = variant / "Dockerfile"
    declared = re.compile(r"^VOLUME .*\n", re.MULTILINE)
    assert declared.search(dockerfile.read_text())
    dockerfile.write_text(declared.sub("", dockerfile.read_text()))
    reference = build(engine, site, variant, request)

    with site.local.running(engine, reference, task, free_port()) as container:
        status = container.wait()["StatusCode"]
        logs = container.logs().decode()

    assert status != 0
    assert "PermissionError" in logs, logs
