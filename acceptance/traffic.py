"""A steady stream of requests to a site while it deploys: a rollout promises none fails."""

import contextlib
import http.client
import threading
from urllib.parse import urlsplit


class Stream(threading.Thread):
    """GET `url` every `interval` seconds (with Host: `host`, the name the site's listener rule
    matches) until stopped; counts the answers other than 200 and the connections that failed."""

    def __init__(self, url, host=None, interval=0.25, timeout=5):
        super().__init__(daemon=True)
        self.url, self.interval, self.timeout = urlsplit(url), interval, timeout
        self.host = host or self.url.hostname
        self.sent, self.failed, self.failures = 0, 0, {}
        self.done = threading.Event()

    def request(self):
        kind = (
            http.client.HTTPSConnection
            if self.url.scheme == "https"
            else http.client.HTTPConnection
        )
        connection = kind(self.url.hostname, self.url.port, timeout=self.timeout)
        try:
            connection.request("GET", self.url.path or "/", headers={"Host": self.host})
            return str(connection.getresponse().status)
        except OSError as error:
            return type(error).__name__
        finally:
            connection.close()

    def run(self):
        while not self.done.is_set():
            answer = self.request()
            self.sent += 1
            if answer != "200":
                self.failed += 1
                self.failures[answer] = self.failures.get(answer, 0) + 1
            self.done.wait(self.interval)

    def stop(self):
        self.done.set()
        self.join()
        return {"sent": self.sent, "failed": self.failed, "failures": self.failures}


@contextlib.contextmanager
def during(run, url, host=None):
    """A stream for the block, counted in the scenario's record; none runs on the stand-in,
    where no load balancer serves."""
    totals = run.current.requests
    if not run.on_aws:
        totals["meaningful"] = False
        yield
        return
    stream = Stream(url, host)
    stream.start()
    try:
        yield
    finally:
        counts = stream.stop()
        for key in ("sent", "failed"):
            totals[key] = totals.get(key, 0) + counts[key]
        failures = totals.setdefault("failures", {})
        for answer, count in counts["failures"].items():
            failures[answer] = failures.get(answer, 0) + count
