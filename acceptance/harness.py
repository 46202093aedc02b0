"""One acceptance run: the sites it bakes, the deploy tool run in them, and what it records.

The tool runs as its command line (flask_fargate.cli.main) in this process, in the site's
folder: the tool of this checkout, which a site baked from this checkout pins. Against the
stand-in, its image step records a manifest instead of building (standin/rehearse.py), as in
`make rehearse`.
"""

import contextlib
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from flask_fargate import cli, stacks

TEMPLATE = Path(__file__).resolve().parents[1]
PREFIX = "ffacc-"  # every acceptance run's names start with it; a run's own: ffacc-<run id>-
INTERRUPTED = 130  # flask_fargate.cli.main's status after Ctrl-C
# A crash at start: the container's entrypoint exits at once, before nginx or gunicorn start.
CRASHING_ENTRYPOINT = "#!/bin/sh\necho 'acceptance: this image crashes at start' >&2\nexit 1\n"


@dataclass
class Site:
    name: str  # a letter: the site's place in the run
    answers: dict
    folder: Path = None

    @property
    def slug(self):
        return self.folder.name


@dataclass
class Check:
    id: str  # a registry id
    held: bool
    observed: str
    aws_only: bool  # means nothing on the stand-in (no task runs, no load balancer serves)

    def outcome(self, on_aws):
        if self.aws_only and not on_aws:
            return "not meaningful on the stand-in"
        return "confirmed" if self.held else "contradicted"


@dataclass
class Scenario:
    name: str
    seconds: float = 0.0
    error: str = ""
    observations: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    requests: dict = field(default_factory=dict)


class Run:
    def __init__(self, aws, run_id, work, on_aws, zone=None):
        self.aws, self.run_id, self.work, self.on_aws, self.zone = aws, run_id, work, on_aws, zone
        self.prefix = f"{PREFIX}{run_id}-"
        self.sites = {}
        self.scenarios = []
        self.current = None

    # ---------------------------------------------------------------- sites and the tool

    def domain(self, name):
        if self.zone:
            return f"{self.prefix}{name}.{self.zone['name']}"
        return f"{self.prefix}{name}.invalid"

    def bake(self, name, **answers):
        """A site baked by the cookiecutter CLI, named after the run, with a first commit."""
        answers = {"aws_region": self.aws.region, **answers}
        pairs = [f"{key}={value}" for key, value in answers.items()]
        command = [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input"]
        output = self.work / name
        domain = f"domain={self.domain(name)}"
        baking = [*command, "-o", str(output), domain, *pairs]
        baked = subprocess.run(baking, capture_output=True, text=True)  # noqa: S603 - this checkout
        if baked.returncode:  # the hook's lines say which answer it refused
            raise RuntimeError(f"cookiecutter refused the answers: {baked.stderr.strip()}")
        (folder,) = output.iterdir()
        git(folder, "init", "--quiet")
        git(folder, "add", "-A")
        git(folder, "commit", "--quiet", "-m", "First version")
        self.sites[name] = Site(name, answers, folder)
        return self.sites[name]

    def tool(self, site, *argv):
        """The deploy tool's exit status for `flask-fargate ARGV` in the site's folder."""
        common = ["--endpoint-url", self.aws.endpoint_url] if self.aws.endpoint_url else []
        print(f"\n$ flask-fargate {' '.join(argv)}    # in {site.slug}", flush=True)
        with contextlib.chdir(site.folder):
            status = cli.main([*argv, *common])
        if status == INTERRUPTED:  # the tool's answer to Ctrl-C: the run stops too
            raise KeyboardInterrupt
        return status

    def new_image(self, site, kind):
        """`up`'s options for an image of that kind ("second": another commit, "crash": its
        entrypoint, the image's ENTRYPOINT, exits at once). On AWS the change is committed and
        `up` builds it, tagged with the commit; the stand-in builds nothing and records a
        manifest under the tag."""
        if not self.on_aws:
            return ["--tag", kind]
        if kind == "crash":
            entrypoint = site.folder / "container" / "entrypoint"
            entrypoint.write_text(CRASHING_ENTRYPOINT)
        else:
            readme = site.folder / "README.md"
            readme.write_text(readme.read_text() + f"\n<!-- acceptance: {kind} image -->\n")
        git(site.folder, "commit", "--quiet", "-am", f"acceptance: {kind} image")
        return []

    def outputs(self, site):
        """The outputs of the site's resources stack, {} before it exists."""
        with contextlib.chdir(site.folder):
            stack = stacks.describe(self.aws, stacks.resources().name)
        return stacks.outputs(stack) if stack else {}

    # ---------------------------------------------------------------- what a scenario records

    @contextlib.contextmanager
    def scenario(self, name):
        self.current = Scenario(name)
        self.scenarios.append(self.current)
        started = time.monotonic()
        print(f"\n=== scenario {name}", flush=True)
        try:
            yield self.current
        except Exception as error:  # recorded; the run goes on to the next scenario
            self.current.error = f"{type(error).__name__}: {error}"
            traceback.print_exc()
            print(f"scenario {name} failed: {self.current.error}", flush=True)
        except BaseException as error:  # Ctrl-C, SIGTERM, a deadline: the run stops
            self.current.error = f"stopped: {type(error).__name__} {error}".strip()
            raise
        finally:
            self.current.seconds = round(time.monotonic() - started, 1)

    def observe(self, label, value):
        self.current.observations.append({"label": label, "value": value})
        print(f"  observed {label}: {value}", flush=True)

    def check(self, behaviour, held, observed, aws_only=False):
        check = Check(behaviour, bool(held), str(observed), aws_only)
        self.current.checks.append(check)
        print(f"  {behaviour}: {check.outcome(self.on_aws)} ({observed})", flush=True)
        return check.held

    def require(self, status, what):
        """Stop the scenario when the tool failed where it must not."""
        if status != 0:
            raise RuntimeError(f"{what}: flask-fargate exited {status}")

    def results(self):
        """{registry id: held} of the checks that mean something where the run ran: held by
        each check of it (a behaviour checked in four sites is contradicted by one)."""
        held = {}
        for scenario in self.scenarios:
            for check in scenario.checks:
                if self.on_aws or not check.aws_only:
                    held[check.id] = held.get(check.id, True) and check.held
        return held


def git(folder, *args):
    identity = ["-c", "user.name=acceptance", "-c", "user.email=acceptance@example.invalid"]
    command = ["git", *identity, *args]
    subprocess.run(command, cwd=folder, check=True, capture_output=True)  # noqa: S603, S607
