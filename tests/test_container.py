"""The container files across bakes: Dockerfile lint, build context, volumes, gunicorn and nginx
sizing.

How the container serves (redirects, HSTS, draining) is tested by each generated site's own
suite (tests/test_serve.py), which the template suite runs for the default and ssl-off bakes.
"""

import json
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bakery import TEMPLATE, bake_cli
from cfnlint.decode import cfn_yaml
from docker.utils.build import exclude_paths
from gunicorn.config import Config

PYTHONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"]
HADOLINT = Path(sys.executable).parent / "hadolint"
NO_HOOKS = ("--accept-hooks", "no")  # the container files do not depend on the hooks' work
# A Fargate task's open-file limit, soft and hard, where its definition sets none (ECS API
# reference, Ulimit).
FARGATE_OPEN_FILES = 65535


def bake_without_hooks(tmp_path, **answers):
    bake = bake_cli(tmp_path, flags=NO_HOOKS, **answers)
    assert bake.returncode == 0, bake.stderr
    return bake.project


@pytest.mark.parametrize("python", PYTHONS)
def test_dockerfile_is_hadolint_clean_for_every_python(tmp_path, python):
    project = bake_without_hooks(tmp_path, python_version=python)

    lint = subprocess.run(
        [HADOLINT, "--failure-threshold", "info", "Dockerfile"],
        cwd=project,
        capture_output=True,
        check=False,
        text=True,
    )

    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert f"FROM python:{python}-slim-trixie AS base\n" in (project / "Dockerfile").read_text()


def test_build_context_holds_what_the_image_needs_and_nothing_else(default_bake, tmp_path):
    project = Path(shutil.copytree(default_bake, tmp_path / default_bake.name))
    for clutter in (".venv/bin/python", ".git/HEAD", "app/__pycache__/views.cpython-313.pyc"):
        (project / clutter).parent.mkdir(parents=True, exist_ok=True)
        (project / clutter).write_text("")
    patterns = (project / ".dockerignore").read_text().splitlines()

    sent = {path for path in exclude_paths(str(project), patterns) if (project / path).is_file()}
    context = sent - {"Dockerfile", ".dockerignore"}  # Docker always sends these two

    copied = re.findall(
        r"^COPY (?!--from)(\S+)", (project / "Dockerfile").read_text(), re.MULTILINE
    )
    assert {top.rstrip("/") for top in copied} == {path.split("/")[0] for path in context}
    assert "container/entrypoint" in context
    assert not [path for path in context if "__pycache__" in path or path.startswith("tests")]


# Two per vCPU plus one, and at least two, for every task size the service stack takes.
WORKERS_BY_CPU = {"256": 2, "512": 2, "1024": 3, "2048": 5, "4096": 9, "8192": 17, "16384": 33}


def test_the_task_passes_its_cpu_and_gunicorn_makes_the_worker_count(
    default_bake, tmp_path, monkeypatch
):
    """One source for the count: gunicorn.conf.py, from the Cpu the task definition passes."""
    template = cfn_yaml.load(str(default_bake / "cloudformation" / "service.yaml"))
    (container,) = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    environment = {variable["Name"]: variable["Value"] for variable in container["Environment"]}
    monkeypatch.setenv("SCRATCH_DIR", str(tmp_path))
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)

    assert environment["TASK_CPU_UNITS"] == {"Ref": "Cpu"}
    assert "WEB_CONCURRENCY" not in environment
    assert template["Parameters"]["Cpu"]["AllowedValues"] == list(WORKERS_BY_CPU)
    for cpu, workers in WORKERS_BY_CPU.items():
        monkeypatch.setenv("TASK_CPU_UNITS", cpu)
        settings = runpy.run_path(str(default_bake / "container" / "gunicorn.conf.py"))
        assert settings["workers"] == workers, cpu


def test_without_the_stack_gunicorn_sizes_for_the_cpu_answered(tmp_path, monkeypatch):
    """`make serve` passes no TASK_CPU_UNITS: the cpu the site was generated with counts."""
    project = bake_without_hooks(tmp_path, cpu="1024")
    monkeypatch.setenv("SCRATCH_DIR", str(tmp_path))
    for name in ("TASK_CPU_UNITS", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)

    settings = runpy.run_path(str(project / "container" / "gunicorn.conf.py"))

    assert settings["workers"] == WORKERS_BY_CPU["1024"]
    assert settings["bind"] == f"unix:{tmp_path}/gunicorn.sock"


def test_web_concurrency_overrides_the_worker_count(default_bake, tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCH_DIR", str(tmp_path))
    monkeypatch.setenv("WEB_CONCURRENCY", "7")

    settings = runpy.run_path(str(default_bake / "container" / "gunicorn.conf.py"))

    assert settings["workers"] == 7


def test_the_image_declares_a_volume_at_each_mount_point_of_the_task(default_bake):
    """Fargate fills a task's volume from the image only where the image declares VOLUME there."""
    template = cfn_yaml.load(str(default_bake / "cloudformation" / "service.yaml"))
    (container,) = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    mounted = {mount["ContainerPath"] for mount in container["MountPoints"]}

    dockerfile = (default_bake / "Dockerfile").read_text()
    declared = set(re.findall(r'^VOLUME \["([^"]+)"\]$', dockerfile, re.MULTILINE))

    assert mounted
    assert mounted <= declared


def nginx_number(conf, directive):
    """A count, or a duration in seconds (`20s`)."""
    return int(re.search(rf"^\s*{directive} (\d+)s?;", conf, re.MULTILINE)[1])


def test_gunicorn_frees_a_worker_when_nginx_stops_waiting_for_it(
    default_bake, tmp_path, monkeypatch
):
    """nginx answers 504 after proxy_read_timeout: from then on the worker works for nobody,
    and gunicorn's timeout restarts it. Neither gives up before the other, so the figure the
    deregistration delay is measured against (test_stacks) is the longest request there is."""
    conf = (default_bake / "container" / "nginx.conf").read_text()
    monkeypatch.setenv("SCRATCH_DIR", str(tmp_path))

    gunicorn = runpy.run_path(str(default_bake / "container" / "gunicorn.conf.py"))

    assert gunicorn["timeout"] == nginx_number(conf, "proxy_read_timeout")


def test_nginx_holds_10000_clients_within_fargates_open_file_limit(
    default_bake, tmp_path, monkeypatch
):
    conf = (default_bake / "container" / "nginx.conf").read_text()
    connections = nginx_number(conf, "worker_connections")
    # The entrypoint fills it in: OPEN_FILES, or a lower hard limit it was started with.
    assert re.search(r"^worker_rlimit_nofile \$\{OPEN_FILES\};", conf, re.MULTILINE)
    open_files = runpy.run_path(str(default_bake / "container" / "entrypoint"))["OPEN_FILES"]
    monkeypatch.setenv("SCRATCH_DIR", str(tmp_path))
    gunicorn = runpy.run_path(str(default_bake / "container" / "gunicorn.conf.py"))
    # Connections nginx may hold to gunicorn: as many as its listen queue takes.
    backlog = gunicorn.get("backlog", Config().backlog)

    assert connections >= 10_000 + backlog  # each client's, and its proxied one, count
    assert 2 * connections <= open_files  # a temp file beside each connection
    assert open_files <= FARGATE_OPEN_FILES
