"""What nginx in front of gunicorn costs on `/`, and gains on a static file; the stack's memory.

Bakes the default site into a temp folder and measures, on loopback, side by side in one run:
  nginx alone     nginx answering by itself (return 200): the machine's ceiling
  gunicorn alone  the site's gunicorn settings, bound to TCP instead of the unix socket
  full stack      container/entrypoint: nginx + gunicorn exactly as in the image
The rounds alternate between them so that noise from other work hits all alike; medians are
printed, with each server's own CPU time per request, which that noise barely moves. Targets on
`/`: full / gunicorn-alone >= 0.9 at an equal or better p99, and the stack's memory at rest and
under load <= 40% of the default task memory (512 MiB).

Static files: the stylesheet the home page links (its hashed URL), through the full stack, where
nginx answers it, against the same URL from gunicorn alone, where Flask's static view does.
Target: full / gunicorn-alone >= 5 at an equal or better p99.

Then slow clients, against gunicorn alone and the full stack: N clients each hold a connection
by sending a request's headers a line at a time and never finishing (a client the server drops
connects again), while normal requests arrive on new connections. Printed: the connections
held, normal requests served/failed and their p99, the server's memory. Target: the full stack
serves every normal request next to 10,000 slow clients. The benchmark raises its own open-file
limit for them (to Fargate's 65,535 where allowed); with less, it runs fewer and says so.

Load comes from wrk (Debian: apt-get install wrk) when installed, else from Python threads,
which are slower than any of the three servers: their figures only compare with each other.

    .venv/bin/python benchmarks/serve.py [--seconds 10] [--rounds 3] [--connections 16]
                                         [--slow-clients 2000 10000]
                                         [--project path/to/a/generated/site]
                                         [--static /static/a.<hash>.css]
"""

import argparse
import asyncio
import contextlib
import http.client
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
TASK_MEMORY_MIB = 512
FARGATE_OPEN_FILES = 65535  # a task's nofile limit, soft and hard, unless its definition sets one
SPARE_FILES = 1024  # open files beside the slow clients' sockets
SLOW_HEADER_SECONDS = 3  # between two header lines of a slow client
SLOW_RAMP_SECONDS = 30  # longest wait for the slow clients to connect
NORMAL_REQUESTS, NORMAL_CONCURRENCY, NORMAL_TIMEOUT = 200, 20, 5
NGINX = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
NGINX_ALONE_CONF = """\
daemon off;
worker_processes 1;
pid {scratch}/nginx-alone.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {scratch}/body;
    proxy_temp_path {scratch}/proxy;
    fastcgi_temp_path {scratch}/fastcgi;
    uwsgi_temp_path {scratch}/uwsgi;
    scgi_temp_path {scratch}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "ok"; }}
    }}
}}
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited with {process.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listened on port {port} after {seconds} s")


def bake(output):
    """The default site, baked without the hooks: they lint the stacks, which serving never reads."""
    command = [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input"]
    done = subprocess.run(
        [*command, "--accept-hooks", "no", "--output-dir", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"cookiecutter could not bake the default site:\n{done.stderr[-2000:]}")
    (project,) = output.iterdir()
    return project


class Server:
    def __init__(self, name, command, port, env=None, cwd=None):
        self.name, self.port = name, port
        self.process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(port, self.process)

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def start_servers(project, scratch):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    nginx_port, gunicorn_port, stack_port = free_port(), free_port(), free_port()
    conf = scratch / "nginx-alone.conf"
    conf.write_text(NGINX_ALONE_CONF.format(scratch=scratch, port=nginx_port))
    gunicorn_scratch, stack_scratch = scratch / "gunicorn", scratch / "stack"
    gunicorn_scratch.mkdir()
    stack_scratch.mkdir()
    gunicorn = [sys.executable, "-m", "gunicorn", "--config", "container/gunicorn.conf.py"]
    return [
        Server("nginx alone", [NGINX, "-e", "stderr", "-c", str(conf)], nginx_port),
        Server(
            "gunicorn alone",
            [*gunicorn, "--bind", f"127.0.0.1:{gunicorn_port}", "app:create_app()"],
            gunicorn_port,
            env={**env, "SCRATCH_DIR": str(gunicorn_scratch)},
            cwd=project,
        ),
        Server(
            "full stack",
            [sys.executable, str(project / "container" / "entrypoint")],
            stack_port,
            env={
                **env,
                "HOST": "127.0.0.1",
                "PORT": str(stack_port),
                "SCRATCH_DIR": str(stack_scratch),
            },
        ),
    ]


def wrk(url, seconds, connections):
    """Load from wrk: (requests answered, p50 ms, p99 ms, errors)."""
    out = subprocess.run(
        ["wrk", "--threads", "1", "--connections", str(connections), "--duration", f"{seconds}s"]
        + ["--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out)[1])
    p50, p99 = (to_ms(re.search(rf"^\s+{p}%\s+(\S+)", out, re.MULTILINE)[1]) for p in ("50", "99"))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad[1]) if bad else 0) + (sum(map(int, failed.groups())) if failed else 0)
    return requests, p50, p99, errors


def to_ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def python_load(url, seconds, connections):
    """The same figures from threads that each keep a connection open, when wrk is missing."""
    address = urllib.parse.urlsplit(url)
    latencies, errors, stop_at = [], [], time.monotonic() + seconds

    def client():
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                connection.request("GET", address.path)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                errors.append(1)
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status >= 400:
                errors.append(1)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies), cuts[49], cuts[98], len(errors)


def process_tree(root_pid):
    """{pid: fields of /proc/pid/stat after the command name} for a process and its descendants."""
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
    tree, frontier = {}, [root_pid]
    while frontier:
        pid = frontier.pop()
        tree[pid] = stats.get(pid, [])
        frontier.extend(child for child, fields in stats.items() if int(fields[1]) == pid)
    return tree


def cpu_seconds(root_pid):
    """User + system CPU time used so far by a process and its descendants."""
    ticks = sum(int(f[11]) + int(f[12]) for f in process_tree(root_pid).values() if f)
    return ticks / os.sysconf("SC_CLK_TCK")


def stack_memory_mib(root_pid):
    """(RSS summed, PSS summed) of a process and all its descendants, in MiB.

    RSS counts pages shared by the forked workers once per process (an upper bound); PSS
    shares them out, so its sum is what the processes really occupy.
    """
    rss = pss = 0
    for pid in process_tree(root_pid):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        rss += int(re.search(r"^Rss:\s+(\d+)", rollup, re.MULTILINE)[1])
        pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.MULTILINE)[1])
    return rss / 1024, pss / 1024


@dataclass
class Run:
    rate: float  # requests/s
    p50: float  # ms
    p99: float  # ms
    errors: int
    cpu_ms: float  # server CPU time per request, all its processes: steady under machine noise
    memory: tuple  # peak (RSS, PSS) in MiB during the run


def measure(load, server, path, seconds, connections):
    peak = [(0.0, 0.0)]
    done = threading.Event()

    def sample_memory():
        while not done.wait(0.25):
            peak[0] = max(peak[0], stack_memory_mib(server.process.pid))

    sampler = threading.Thread(target=sample_memory)
    sampler.start()
    cpu_before, started = cpu_seconds(server.process.pid), time.monotonic()
    try:
        requests, p50, p99, errors = load(server.url(path), seconds, connections)
    finally:
        elapsed = time.monotonic() - started
        done.set()
        sampler.join()
    cpu = cpu_seconds(server.process.pid) - cpu_before
    return Run(requests / elapsed, p50, p99, errors, cpu * 1000 / max(requests, 1), peak[0])


def raise_open_file_limit(wanted):
    """Raise this process's open-file limit, which the servers and clients it starts inherit.

    Up to Fargate's (or `wanted`, if more) within the hard limit; past the hard limit only with
    the right to (root with CAP_SYS_RESOURCE). Returns the limit now in force.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(wanted, FARGATE_OPEN_FILES)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
    return max(soft, target)


def hold_slow_clients(port, count, held, stop):
    """In a process of its own: `count` clients holding connections to the port until `stop`.

    Each sends a request line and then one header line every SLOW_HEADER_SECONDS, never the
    blank line that ends the headers; when the server answers or closes, it connects again.
    `held` counts the connections open.
    """

    # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow the cancellation that
    # ends a client, which then never stops.
    async def client():
        while True:
            try:
                async with asyncio.timeout(SLOW_HEADER_SECONDS):
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except (OSError, TimeoutError):  # the server's listen queue is full: try again
                await asyncio.sleep(0.1)
                continue
            with held.get_lock():
                held.value += 1
            try:
                writer.write(b"GET / HTTP/1.1\r\nHost: slow.example\r\n")
                while True:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(SLOW_HEADER_SECONDS):
                            await reader.read(1024)
                        break  # answered (408) or closed
                    writer.write(b"X-Slow: 1\r\n")
                    await writer.drain()
            except OSError:
                pass
            finally:
                with held.get_lock():
                    held.value -= 1
                writer.close()

    async def main():
        clients = []
        while len(clients) < count:  # a ramp, not one burst into the listen queue
            batch = min(250, count - len(clients))
            clients += [asyncio.create_task(client()) for _ in range(batch)]
            await asyncio.sleep(0.05)
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        for task in clients:
            task.cancel()
        await asyncio.gather(*clients, return_exceptions=True)

    asyncio.run(main())


def normal_request(port):
    """One GET / on a new connection: its time in ms, or None if it failed."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=NORMAL_TIMEOUT)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000 if response.status < 400 else None


@dataclass
class SlowRun:
    held: int  # slow clients' connections open when the normal requests started
    served: int
    failed: int
    p99: float | None  # ms, of the served requests
    memory: tuple  # the server's (RSS, PSS) in MiB, slow clients connected


def with_slow_clients(server, count):
    """Normal requests to `server` while `count` slow clients hold connections to it."""
    spawn = multiprocessing.get_context("spawn")
    held, stop = spawn.Value("i", 0), spawn.Event()
    clients = spawn.Process(target=hold_slow_clients, args=(server.port, count, held, stop))
    clients.start()
    try:
        deadline = time.monotonic() + SLOW_RAMP_SECONDS
        while held.value < count and time.monotonic() < deadline:
            time.sleep(0.5)
        holding, memory = held.value, stack_memory_mib(server.process.pid)
        with ThreadPoolExecutor(NORMAL_CONCURRENCY) as pool:
            times = list(pool.map(normal_request, [server.port] * NORMAL_REQUESTS))
    finally:
        stop.set()
        clients.join()
    served = [ms for ms in times if ms is not None]
    p99 = statistics.quantiles(served, n=100)[98] if len(served) > 1 else None
    return SlowRun(holding, len(served), len(times) - len(served), p99, memory)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--project", type=Path, help="a site to measure (default: bake one)")
    parser.add_argument(
        "--slow-clients",
        type=int,
        nargs="*",
        default=[2000, 10000],
        metavar="N",
        help="slow client counts to measure (none: skip this part)",
    )
    parser.add_argument(
        "--static", metavar="PATH", help="static file to measure (default: the page's stylesheet)"
    )
    args = parser.parse_args()
    if not NGINX:
        sys.exit("nginx is not installed (Debian: apt-get install nginx)")
    load = wrk if shutil.which("wrk") else python_load
    wanted = max(args.slow_clients, default=0) + SPARE_FILES
    open_files = raise_open_file_limit(wanted)
    slow_counts = [min(count, open_files - SPARE_FILES) for count in args.slow_clients]
    if slow_counts != args.slow_clients:
        print(f"open-file limit {open_files} (wanted {wanted}): slow clients {slow_counts}")

    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        project = args.project.resolve() if args.project else bake(scratch / "bake")
        servers = start_servers(project, scratch)
        apps = [server for server in servers if server.name != "nginx alone"]
        try:
            static = args.static or stylesheet(apps[0])
            measured = {"/": servers, static: apps}  # path -> the servers asked for it
            for path, group in measured.items():  # warm up: imports, templates, connections
                for server in group:
                    load(server.url(path), 1, args.connections)
            time.sleep(1)
            at_rest = stack_memory_mib(servers[-1].process.pid)
            runs = {path: {server.name: [] for server in group} for path, group in measured.items()}
            for _ in range(args.rounds):
                for path, group in measured.items():
                    for server in group:
                        run = measure(load, server, path, args.seconds, args.connections)
                        runs[path][server.name].append(run)
            slow = {
                (count, server.name): with_slow_clients(server, count)
                for count in slow_counts
                for server in apps
            }
        finally:
            for server in servers:
                server.stop()
    tool = "wrk" if load is wrk else "Python threads (install wrk for real figures)"
    print(f"{args.seconds} s x {args.rounds} rounds, {args.connections} connections, {tool}")
    report_page(runs["/"], at_rest)
    report_static(static, runs[static])
    report_slow(slow)


def stylesheet(server):
    """The URL of the stylesheet the server's home page links (hashed, as the app writes it)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/")
        page = connection.getresponse().read().decode()
    finally:
        connection.close()
    found = re.search(r'<link rel="stylesheet" href="(/static/[^"]+)"', page)
    if not found:
        sys.exit("the home page links no stylesheet under /static/: name a file with --static")
    return found[1]


def report_medians(runs):
    """Print a table of each server's medians; return them by server name."""
    print(
        f"{'medians':16}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}{'errors':>8}"
    )
    medians = {}
    for name, series in runs.items():
        median = Run(
            *(statistics.median(getattr(run, f) for run in series) for f in ("rate", "p50", "p99")),
            sum(run.errors for run in series),
            statistics.median(run.cpu_ms for run in series),
            max(run.memory for run in series),
        )
        medians[name] = median
        print(
            f"{name:16}{median.rate:12.0f}{median.p50:9.2f}{median.p99:9.2f}"
            f"{median.cpu_ms:12.3f}{median.errors:8d}"
        )
    return medians


def compare(medians, target):
    """Print the full stack against gunicorn alone; return the full stack's medians."""
    full, alone = medians["full stack"], medians["gunicorn alone"]
    verdict = "equal or better" if full.p99 <= alone.p99 else "worse"
    print(
        f"full stack / gunicorn alone: {full.rate / alone.rate:.2f} requests/s "
        f"(target >= {target}), p99 {verdict}; CPU per request {full.cpu_ms / alone.cpu_ms:.2f}x"
    )
    return full


def report_page(runs, at_rest):
    print("\nGET /")
    full = compare(report_medians(runs), 0.9)
    budget = TASK_MEMORY_MIB * 0.4
    for label, (rss, pss) in (("at rest", at_rest), ("under load", full.memory)):
        print(
            f"full stack memory {label:10}: RSS {rss:6.1f} MiB, PSS {pss:6.1f} MiB "
            f"(target <= {budget:.0f} MiB, 40% of {TASK_MEMORY_MIB} MiB)"
        )


def report_static(path, runs):
    print(
        f"\nGET {path}: nginx answers it in the full stack, Flask's static view in gunicorn alone"
    )
    compare(report_medians(runs), 5)


def report_slow(slow):
    print(
        f"\nslow clients: {NORMAL_REQUESTS} normal requests on new connections, "
        f"{NORMAL_CONCURRENCY} at a time, {NORMAL_TIMEOUT} s timeout"
    )
    print(f"{'slow':>6}  {'server':16}{'held':>7}{'served/failed':>15}{'p99 ms':>9}{'PSS MiB':>9}")
    for (count, name), run in slow.items():
        p99 = f"{run.p99:.1f}" if run.p99 is not None else "-"
        print(
            f"{count:6d}  {name:16}{run.held:7d}{f'{run.served}/{run.failed}':>15}{p99:>9}"
            f"{run.memory[1]:9.1f}"
        )


if __name__ == "__main__":
    main()
