"""The real nginx and gunicorn, started by container/entrypoint as in the image, on a free port.

Requests come with the headers the load balancer sends (X-Forwarded-Proto, X-Forwarded-For),
or without them, as its health checks do. Most tests request tests/probe_app.py: the site plus
routes of the tests' own, in a copy of the site whose app/static holds files of the tests' own.
The last ones start `make serve` and stop it the ways a user does.
"""

import gzip
import hashlib
import http.client
import json
import os
import resource
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import processes
from flask import url_for

from app import DEFAULT_DOMAIN, create_app
from app.static_urls import hashed_names

PROJECT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
# Answered when this site was generated: the load balancer serves HTTPS, nginx redirects to it.
HTTPS = {{ cookiecutter.ssl }}
ONE_YEAR = 365 * 24 * 3600

pytestmark = pytest.mark.skipif(
    not NGINX, reason="nginx is not installed (Debian: apt-get install nginx); these tests run it"
)
with_https = pytest.mark.skipif(not HTTPS, reason="this site was generated with ssl off")
without_https = pytest.mark.skipif(HTTPS, reason="this site was generated with ssl on")
linux_only = pytest.mark.skipif(
    sys.platform != "linux", reason="follows the processes it starts through /proc (Linux)"
)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """nginx + gunicorn started in the background by command, on PORT; its output in files."""

    def __init__(self, scratch, command, env, **popen):
        self.port = free_port()
        self.scratch = scratch
        self.stdout = (scratch / "stdout.log").open("w+")
        self.stderr = (scratch / "stderr.log").open("w+")
        self.process = subprocess.Popen(  # noqa: S603 - the project's own entrypoint or make
            command,
            env={**env, "PORT": str(self.port), "WEB_CONCURRENCY": "2"},
            stdout=self.stdout,
            stderr=self.stderr,
            **popen,
        )
        self._wait_until_listening()

    def _wait_until_listening(self, seconds=20):
        deadline = time.monotonic() + seconds
        while not listening(self.port):
            if self.process.poll() is not None:
                pytest.fail(f"exited ({self.process.returncode}), never listened:\n{self.errors()}")
            if time.monotonic() > deadline:
                pytest.fail(f"not listening on {self.port} after {seconds} s:\n{self.errors()}")
            time.sleep(0.05)

    def fetch(self, path, headers=None, timeout=10):
        """GET path as the load balancer would forward it; return (response, body bytes)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path, headers={"Host": DEFAULT_DOMAIN, **(headers or {})})
            response = connection.getresponse()
            return response, response.read()
        finally:
            connection.close()

    def get(self, path, headers=None, timeout=10):
        """GET path as the load balancer would forward it; return (response, body text)."""
        response, body = self.fetch(path, headers, timeout)
        return response, body.decode()

    def children(self):
        """The entrypoint's child processes, as {"nginx": pid, "gunicorn": pid}."""
        return {
            "nginx" if child.command.startswith("nginx:") else "gunicorn": child.pid
            for child in processes().values()
            if child.ppid == self.process.pid
        }

    def access_log(self):
        self.stdout.flush()
        lines = Path(self.stdout.name).read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]  # make echoes too

    def errors(self):
        self.stderr.flush()
        return Path(self.stderr.name).read_text()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stdout.close()
        self.stderr.close()


def start_entrypoint(scratch, app_module=None, site_url=None, project=PROJECT, secrets=None):
    env = {**os.environ, "HOST": "127.0.0.1", "SCRATCH_DIR": str(scratch)}
    if secrets:  # as ECS passes them: one JSON object (cloudformation/service.yaml)
        env["SITE_SECRETS"] = json.dumps(secrets)
    env.pop("SITE_URL", None)  # without it, the address answered at generation
    if site_url:
        env["SITE_URL"] = site_url
    if app_module:
        env["APP_MODULE"] = app_module
        paths = [str(PROJECT / "tests"), env.get("PYTHONPATH")]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    return Stack(scratch, [sys.executable, str(project / "container" / "entrypoint")], env)


def start_make_serve(scratch, **popen):
    """`make serve` in a process group of its own, as a shell runs a command in a terminal.

    Its .venv stands in for one: marked installed, with the tests' own interpreter for a bin.
    """
    (scratch / ".installed").touch()
    python_bin = Path(sys.executable).parent
    command = ["make", "--no-print-directory", "serve", f"VENV={scratch}", f"BIN={python_bin}"]
    then = popen.pop("preexec_fn", None)

    def as_a_terminal_starts_it():
        # Signals at their defaults, whatever this run inherited: a shell's `&` ignores SIGINT,
        # nohup SIGHUP, and make keeps a signal ignored that it found ignored.
        for number in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
        if then:
            then()

    return Stack(
        scratch,
        command,
        os.environ,
        cwd=PROJECT,
        process_group=0,
        preexec_fn=as_a_terminal_starts_it,
        **popen,
    )


# Static files of the tests' own, by name: what the site's own are is yours to change.
STATIC_FILES = {
    "probe/large.css": b".probe { margin: 0 }\n" * 100,  # above nginx's gzip_min_length
    "probe/app.min.js": b"console.log(1);",
    "probe/LICENSE": b"Public domain.",
    "probe/data.json": b"{}",
    "probe/image.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    "probe/image.png": b"\x89PNG\r\n\x1a\n",
    "probe/font.woff2": b"wOF2",
    "favicon.ico": b"\x00\x00\x01\x00",
    "robots.txt": b"User-agent: *\nDisallow: /probe/\n",
}
STALE = "probe/large.0123456789ab.css"  # a link an earlier run left in the scratch folder
SECRETS = {"PROBE_TOKEN": "probe-token-value", "PROBE_URL": "postgres://user:pw@db/site"}


def content_hash(name):
    return hashlib.sha256(STATIC_FILES[name]).hexdigest()[:12]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A copy of the site with the tests' static files and routes (tests/probe_app.py), shared
    by the module's tests, started in a scratch folder an earlier run left a link in."""
    site = tmp_path_factory.mktemp("site")
    for part in ("app", "container"):
        shutil.copytree(PROJECT / part, site / part, ignore=shutil.ignore_patterns("__pycache__"))
    for name, content in STATIC_FILES.items():
        (site / "app" / "static" / name).parent.mkdir(parents=True, exist_ok=True)
        (site / "app" / "static" / name).write_bytes(content)
    scratch = tmp_path_factory.mktemp("scratch")
    stale = scratch / "hashed-static" / "static" / STALE
    stale.parent.mkdir(parents=True)
    stale.symlink_to(site / "app" / "static" / "probe" / "large.css")
    running = start_entrypoint(scratch, app_module="probe_app:app", project=site, secrets=SECRETS)
    yield running
    running.stop()


@pytest.fixture
def private_stack(tmp_path):
    """A stack of its own for the tests that stop it."""
    running = start_entrypoint(tmp_path, app_module="probe_app:app")
    yield running
    running.stop()


def wait_for(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {seconds} s"
        time.sleep(0.02)


def descendants(pid):
    """The processes below pid, running now."""
    children = defaultdict(list)
    for process in processes().values():
        if not process.zombie:
            children[process.ppid].append(process)
    found = []
    parents = [pid]
    while parents:
        below = children[parents.pop()]
        found += below
        parents += [process.pid for process in below]
    return found


def serving_processes(stack):
    """Every process below the stack's command, once nginx and gunicorn workers have answered."""
    response, _ = stack.get("/health")  # nginx accepts before its workers run: wait for one
    assert response.status == 200
    started = descendants(stack.process.pid)
    assert any(process.command.startswith("nginx: worker") for process in started)
    return started


def still_running(started):
    running = {process.pid for process in processes().values() if not process.zombie}
    return [process.command for process in started if process.pid in running]


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_home_page_through_nginx(stack):
    response, _ = stack.get("/")

    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/html")
    assert response.getheader("Server") == "nginx"  # no version given away


# Sent by nginx on every response (container/nginx.conf).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": "frame-ancestors 'self'",
}
SECURITY_HEADER_URLS = {
    "page": ("/", {}, 200),
    "static-file": ("/static/probe/large.css", {}, 200),
    "hashed-static-file": (f"/static/probe/large.{content_hash('probe/large.css')}.css", {}, 200),
    "favicon": ("/favicon.ico", {}, 200),
    "health-check": ("/health", {}, 200),
    "apps-404": ("/no-such-page", {"X-Forwarded-Proto": "https"}, 404),
    "nginxs-404": ("/static/probe/missing.css", {"X-Forwarded-Proto": "https"}, 404),
    "not-modified": ("/static/probe/large.css", {"If-None-Match": "*"}, 304),
}
if HTTPS:
    SECURITY_HEADER_URLS["http-to-https-redirect"] = ("/", {"X-Forwarded-Proto": "http"}, 301)
    SECURITY_HEADER_URLS["static-redirect"] = (
        "/static/probe/large.css",
        {"X-Forwarded-Proto": "http"},
        301,
    )


@pytest.mark.parametrize(
    ("url", "headers", "status"), SECURITY_HEADER_URLS.values(), ids=SECURITY_HEADER_URLS.keys()
)
def test_every_response_carries_the_security_headers_once(stack, url, headers, status):
    response, _ = stack.fetch(url, headers)

    assert response.status == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_all(name) == [value], name


def test_hashed_static_files_keep_the_security_headers_beside_their_cache_control(stack):
    """The one location that adds a header of its own (Cache-Control) loses none of the
    server's, HSTS included."""
    url = f"/static/probe/large.{content_hash('probe/large.css')}.css"

    response, _ = stack.fetch(url, {"X-Forwarded-Proto": "https"})

    assert response.headers.get_all("Cache-Control") == ["public, max-age=31536000, immutable"]
    assert (response.getheader("Strict-Transport-Security") is not None) is HTTPS
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_all(name) == [value], name


def test_the_apps_own_referrer_policy_is_the_one_sent(stack):
    response, _ = stack.fetch("/probe/referrer-policy")

    assert response.headers.get_all("Referrer-Policy") == ["no-referrer"]


def test_health_check_without_forwarded_proto_is_answered(stack):
    # What the load balancer's health check sends: plain HTTP, no X-Forwarded-Proto.
    response, body = stack.get("/health")

    assert (response.status, body) == (200, "ok")
    assert response.getheader("Strict-Transport-Security") is None


def test_health_path_is_never_redirected(stack):
    response, body = stack.get("/health", headers={"X-Forwarded-Proto": "http"})

    assert (response.status, body) == (200, "ok")


def test_the_sites_secrets_reach_app_config_as_flask_variables(stack):
    """ECS passes the secret as SITE_SECRETS, one JSON object; the entrypoint makes each of its
    names a FLASK_<NAME> variable, which create_app reads into app.config (compared by hash)."""
    for name, value in SECRETS.items():
        response, body = stack.get(f"/probe/config/{name}")

        assert (response.status, body) == (200, hashlib.sha256(value.encode()).hexdigest())


def run_entrypoint(*command, secrets):
    env = {**os.environ, "SITE_SECRETS": secrets}
    entrypoint = str(PROJECT / "container" / "entrypoint")
    return subprocess.run(  # noqa: S603 - the project's own entrypoint
        [sys.executable, entrypoint, *command], env=env, capture_output=True, text=True, timeout=20
    )


def test_with_a_command_the_entrypoint_runs_it_instead_of_serving():
    """A one-off task (`flask-fargate run -- ...`): the command alone, with the secrets as
    FLASK_<NAME> and not as SITE_SECRETS, its exit status the container's."""
    script = 'test "$FLASK_PROBE_TOKEN" = probe && test -z "$SITE_SECRETS" && echo ran && exit 7'

    ran = run_entrypoint("sh", "-c", script, secrets=json.dumps({"PROBE_TOKEN": "probe"}))

    assert (ran.returncode, ran.stdout, ran.stderr) == (7, "ran\n", "")


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ("not json", "SITE_SECRETS is not JSON; `flask-fargate secret list` checks it"),
        ('["x"]', "SITE_SECRETS is not a JSON object of NAME: value"),
        ('{"lower": "hidden"}', "SITE_SECRETS: 'lower' is not a NAME with a text value"),
        # Flask's from_prefixed_env would nest it: app.config["A"]["B"].
        ('{"A__B": "hidden"}', "SITE_SECRETS: 'A__B' is not a NAME with a text value"),
        # Longer than `secret set` takes (its tag changed:NAME is at most 128 characters).
        (
            json.dumps({"A" * 121: "x"}),
            f"SITE_SECRETS: '{'A' * 121}' is not a NAME with a text value",
        ),
    ],
)
def test_secrets_the_app_cannot_take_stop_the_task_in_one_line(secrets, message):
    ran = run_entrypoint("true", secrets=secrets)

    assert (ran.returncode, ran.stderr.splitlines()) == (1, [f"entrypoint: {message}"])


@with_https
def test_plain_http_is_redirected_with_path_and_query(stack):
    response, _ = stack.get("/a/page?x=1&y=two", headers={"X-Forwarded-Proto": "http"})

    assert response.status == 301
    assert response.getheader("Location") == f"https://{DEFAULT_DOMAIN}/a/page?x=1&y=two"
    assert response.getheader("Strict-Transport-Security") is None


@with_https
def test_https_is_served_with_hsts_of_at_least_a_year(stack):
    response, _ = stack.get("/", headers={"X-Forwarded-Proto": "https"})

    assert response.status == 200
    directives = dict(
        part.strip().partition("=")[::2]
        for part in response.getheader("Strict-Transport-Security").split(";")
    )
    assert int(directives["max-age"]) >= ONE_YEAR


@without_https
@pytest.mark.parametrize("proto", [None, "http", "https"])
def test_without_ssl_nothing_is_redirected_nor_hsts(stack, proto):
    headers = {"X-Forwarded-Proto": proto} if proto else {}

    response, body = stack.get("/a/page?x=1", headers=headers)

    assert response.status == 404  # the app's answer, not a redirect
    assert response.getheader("Location") is None
    assert response.getheader("Strict-Transport-Security") is None


@pytest.mark.parametrize(
    ("site_url", "https"),
    [(f"https://{DEFAULT_DOMAIN}", True), (f"http://{DEFAULT_DOMAIN}", False)],
    ids=["https-site-url", "http-site-url"],
)
def test_site_url_turns_redirect_and_hsts_on_or_off_at_run_time(tmp_path, site_url, https):
    """The service stack passes SiteUrl: switching HTTPS in the stacks needs no new image."""
    running = start_entrypoint(tmp_path, site_url=site_url)
    try:
        plain, _ = running.get("/page", headers={"X-Forwarded-Proto": "http"})
        secure, _ = running.get("/", headers={"X-Forwarded-Proto": "https"})
    finally:
        running.stop()

    assert plain.status == (301 if https else 404)
    assert (secure.getheader("Strict-Transport-Security") is not None) is https


def test_app_sees_the_scheme_and_host_the_client_used(stack):
    response, body = stack.get("/probe/seen", headers={"X-Forwarded-Proto": "https"})

    assert json.loads(body)["url"] == f"https://{DEFAULT_DOMAIN}/probe/seen"


def test_client_scheme_headers_other_than_the_load_balancers_are_ignored(stack):
    response, body = stack.get("/health", headers={"X-Forwarded-Ssl": "on"})

    assert (response.status, body) == (200, "ok")


def test_access_log_is_one_json_line_with_the_client_address(stack):
    stack.get("/?from=log-test", headers={"X-Forwarded-For": "198.51.100.66, 203.0.113.7"})

    wait_for(lambda: logged_uris(stack).count("/?from=log-test") == 1)  # nginx logs after answering
    (entry,) = [line for line in stack.access_log() if line["uri"] == "/?from=log-test"]
    assert entry["client"] == "203.0.113.7"  # the address the load balancer appended
    assert entry["status"] == 200
    assert entry["method"] == "GET"


def test_health_checks_stay_out_of_the_access_log(stack):
    stack.get("/health?from=health-log-test")
    stack.get("/?from=after-health-check")

    wait_for(lambda: "/?from=after-health-check" in logged_uris(stack))
    assert "/health?from=health-log-test" not in logged_uris(stack)


def logged_uris(stack):
    return [line["uri"] for line in stack.access_log()]


def log_entry(stack, uri):
    """The access log's line for the one request of uri, once nginx has written it."""
    wait_for(lambda: uri in logged_uris(stack))
    (entry,) = [line for line in stack.access_log() if line["uri"] == uri]
    return entry


def answered_by_nginx(entry):
    return entry["app_seconds"] == ""  # the time gunicorn took, empty when it was not asked


def hashed_url(stack, name):
    """The URL the app writes for a static file (url_for)."""
    response, url = stack.get(f"/probe/static-url/{name}")
    assert response.status == 200
    return url


def test_static_files_are_answered_by_nginx_never_the_app(stack):
    files = {
        hashed_url(stack, "probe/large.css"): "probe/large.css",
        "/static/probe/large.css": "probe/large.css",
        "/favicon.ico": "favicon.ico",
        "/robots.txt": "robots.txt",
    }
    for url, name in files.items():
        response, body = stack.fetch(f"{url}?from=nginx-test")
        assert (response.status, body) == (200, STATIC_FILES[name]), url
    stack.get("/?from=nginx-test")

    for url in files:
        assert answered_by_nginx(log_entry(stack, f"{url}?from=nginx-test")), url
    assert not answered_by_nginx(log_entry(stack, "/?from=nginx-test"))


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("probe/large.css", "/static/probe/large.{}.css"),
        ("probe/app.min.js", "/static/probe/app.min.{}.js"),
        ("probe/LICENSE", "/static/probe/LICENSE.{}"),
    ],
)
def test_the_apps_static_urls_hold_the_files_hash_and_are_kept_a_year(stack, name, url):
    assert hashed_url(stack, name) == url.format(content_hash(name))

    response, body = stack.fetch(url.format(content_hash(name)))

    assert (response.status, body) == (200, STATIC_FILES[name])
    assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"


@pytest.mark.parametrize(
    ("url", "cache_control"),
    [
        ("/static/probe/large.css", "no-cache"),
        ("/favicon.ico", "no-cache"),
        ("/robots.txt", "no-cache"),
        ("/", None),
    ],
)
def test_other_urls_are_not_kept_without_asking(stack, url, cache_control):
    response, _ = stack.fetch(url)

    assert response.status == 200
    assert response.getheader("Cache-Control") == cache_control


@pytest.mark.parametrize(
    "url",
    ["/static/probe/missing.css", f"/static/probe/large.{'0' * 12}.css", f"/static/{STALE}"],
    ids=["missing", "another-hash", "left-by-an-earlier-run"],
)
def test_a_static_file_this_task_does_not_hold_is_nginxs_404(stack, url):
    response, _ = stack.fetch(f"{url}?from=404-test")

    assert response.status == 404
    assert answered_by_nginx(log_entry(stack, f"{url}?from=404-test"))


def test_css_is_gzipped_for_clients_that_accept_it(stack):
    url = hashed_url(stack, "probe/large.css")

    response, body = stack.fetch(url, {"Accept-Encoding": "gzip"})

    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Vary") == "Accept-Encoding"
    assert gzip.decompress(body) == STATIC_FILES["probe/large.css"]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("probe/large.css", "text/css"),
        ("probe/app.min.js", "text/javascript"),
        ("probe/data.json", "application/json"),
        ("probe/image.svg", "image/svg+xml"),
        ("probe/image.png", "image/png"),
        ("probe/font.woff2", "font/woff2"),
        ("favicon.ico", "image/x-icon"),
        ("robots.txt", "text/plain"),
    ],
)
def test_static_files_carry_their_content_type(stack, name, content_type):
    response, _ = stack.fetch(f"/static/{name}")

    assert response.getheader("Content-Type") == content_type


@pytest.mark.parametrize("validator", ["ETag", "Last-Modified"])
def test_a_cached_static_file_is_revalidated_without_sending_it_again(stack, validator):
    condition = {"ETag": "If-None-Match", "Last-Modified": "If-Modified-Since"}[validator]
    first, _ = stack.fetch("/static/probe/large.css")

    again, body = stack.fetch("/static/probe/large.css", {condition: first.getheader(validator)})

    assert (again.status, body) == (304, b"")


@with_https
def test_static_files_over_plain_http_are_redirected_like_pages(stack):
    for url in (hashed_url(stack, "probe/large.css"), "/static/probe/large.css", "/robots.txt"):
        plain, _ = stack.fetch(url, {"X-Forwarded-Proto": "http"})
        secure, _ = stack.fetch(url, {"X-Forwarded-Proto": "https"})

        assert plain.status == 301, url
        assert plain.getheader("Location") == f"https://{DEFAULT_DOMAIN}{url}"
        assert secure.status == 200, url
        assert secure.getheader("Strict-Transport-Security") is not None, url


@without_https
def test_static_files_over_plain_http_are_served(stack):
    response, body = stack.fetch("/static/probe/large.css", {"X-Forwarded-Proto": "http"})

    assert (response.status, body) == (200, STATIC_FILES["probe/large.css"])


def test_slow_header_senders_do_not_block_other_clients(stack):
    # 100 clients trickle a header byte by byte (slowloris); normal requests still get through.
    trickling = []
    try:
        for _ in range(100):
            client = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
            client.sendall(f"GET / HTTP/1.1\r\nHost: {DEFAULT_DOMAIN}\r\nX-Slow: ".encode())
            trickling.append(client)
        for _ in range(10):
            for client in trickling:
                client.sendall(b"a")
            # Answered within the socket timeout: a blocked server would time it out.
            response, _ = stack.get("/health", timeout=5)
            assert response.status == 200
            time.sleep(0.2)
    finally:
        for client in trickling:
            client.close()


@pytest.mark.parametrize(
    "stop_signal", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name
)
def test_stop_signal_lets_the_request_in_flight_finish(private_stack, stop_signal):
    # That nothing is left running afterwards, conftest.py checks after every test.
    answers = []
    request = threading.Thread(
        target=lambda: answers.append(private_stack.get("/probe/slow?seconds=2"))
    )
    request.start()
    wait_for(lambda: (private_stack.scratch / "slow-request-started").exists())

    private_stack.process.send_signal(stop_signal)
    request.join(timeout=15)
    code = private_stack.process.wait(timeout=25)

    ((response, body),) = answers
    assert (response.status, body) == (200, "done")
    assert code == 0, private_stack.errors()


def test_sigterm_fails_health_checks_and_serves_until_requests_stop(private_stack):
    # A Spot interruption: SIGTERM while the load balancer still sends requests.
    quiet = runpy.run_path(str(PROJECT / "container" / "entrypoint"))["QUIET_SECONDS"]
    private_stack.process.send_signal(signal.SIGTERM)
    wait_for(lambda: "SIGTERM received" in private_stack.errors())

    assert private_stack.get("/health")[0].status == 503  # the load balancer takes it out
    serving_until = time.monotonic() + quiet + 2
    while time.monotonic() < serving_until:  # requests still come: each is served
        assert private_stack.get("/")[0].status == 200
        time.sleep(1)
    assert private_stack.process.poll() is None
    stopped_asking = time.monotonic()
    code = private_stack.process.wait(timeout=quiet + 10)

    assert code == 0, private_stack.errors()
    assert time.monotonic() - stopped_asking >= quiet - 1  # the entrypoint looks once a second
    assert f"no request for {quiet} s; draining nginx, then gunicorn" in private_stack.errors()


@linux_only
@pytest.mark.parametrize("victim", ["gunicorn", "nginx"])
def test_either_process_dying_stops_the_container(private_stack, victim):
    started = serving_processes(private_stack)

    os.kill(private_stack.children()[victim], signal.SIGKILL)
    code = private_stack.process.wait(timeout=25)

    assert code != 0
    assert f"{victim} exited unexpectedly" in private_stack.errors()
    assert still_running(started) == []  # its workers too, which outlive a killed master


@pytest.fixture
def make_serve(tmp_path):
    running = start_make_serve(tmp_path)
    yield running
    running.stop()


STOP_MAKE = {
    "SIGTERM-to-make": lambda make: make.send_signal(signal.SIGTERM),  # kill <pid>, an IDE's stop
    "ctrl-c": lambda make: os.killpg(make.pid, signal.SIGINT),  # to the terminal's foreground group
    "terminal-closed": lambda make: os.killpg(make.pid, signal.SIGHUP),
}


@linux_only
@pytest.mark.parametrize("stop", STOP_MAKE.values(), ids=STOP_MAKE.keys())
def test_make_serve_ends_once_everything_it_started_has_stopped(make_serve, stop):
    started = serving_processes(make_serve)

    stop(make_serve.process)
    make_serve.process.wait(timeout=30)

    assert still_running(started) == []
    assert not listening(make_serve.port)


@linux_only  # the entrypoint sees make's signal in /proc
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_to_make_alone_stops_everything_within_seconds(make_serve, stop_signal):
    """`kill -INT <pid of make>`, as a supervisor stops it: make passes SIGINT and SIGHUP on to
    no one (a terminal sends them to the whole group) and waits for its children; the entrypoint
    sees make handling one and drains, so make dies of it a moment later."""
    started = serving_processes(make_serve)

    os.kill(make_serve.process.pid, stop_signal)  # to make alone, not its process group
    code = make_serve.process.wait(timeout=10)

    assert code == -stop_signal  # make's way out: its signal, raised again once its children end
    assert still_running(started) == []
    assert not listening(make_serve.port)
    assert f"{stop_signal.name} sent to the process that started this one" in make_serve.errors()


def lower_open_files_limit():
    """Run in make's process before it starts (preexec_fn): a hard limit of open files below the
    entrypoint's OPEN_FILES, as on many machines (`ulimit -Hn`); lowering one needs no privilege."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 20000 if hard == resource.RLIM_INFINITY else min(hard, 20000)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, low), low))


def test_make_serve_prints_no_alert_under_a_lower_open_files_limit(tmp_path):
    """nginx sets its workers' open-file limits, soft and hard, to worker_rlimit_nofile, and
    cannot raise the hard one: above it, each worker used to log [alert] setrlimit(...) failed."""
    running = start_make_serve(tmp_path, preexec_fn=lower_open_files_limit)
    try:
        serving_processes(running)  # a worker has started, and answered
        errors = running.errors()
    finally:
        running.stop()

    assert "[alert]" not in errors
    assert "[emerg]" not in errors


def test_make_serve_answers_the_apps_static_urls_itself(make_serve):
    app = create_app()
    with app.test_request_context():
        urls = [url_for("static", filename=name) for name in hashed_names(app.static_folder)]

    for url in urls:
        response, _ = make_serve.fetch(url)
        assert response.status == 200, url
        assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"
        assert answered_by_nginx(log_entry(make_serve, url)), url


@linux_only
def test_make_serve_killed_outright_stops_everything_it_started(make_serve):
    # An IDE's forced stop: SIGKILL, which make cannot pass on.
    started = serving_processes(make_serve)

    make_serve.process.kill()
    make_serve.process.wait()

    wait_for(lambda: still_running(started) == [], seconds=30)
    assert not listening(make_serve.port)
