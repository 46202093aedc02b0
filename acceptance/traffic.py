"""A steady stream of requests to a site while it deploys: a rollout promises none fails."""

import http.client
import threading
import time
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


class During:
    """`with During(run, url, host):` a stream for the block, counted in the scenario's report;
    on the stand-in none runs: no load balancer serves there."""

    def __init__(self, run, url, host=None):
        self.run, self.stream = run, Stream(url, host) if run.on_aws else None

    def __enter__(self):
        if self.stream:
            self.stream.start()
            time.sleep(0)
        return self

    def __exit__(self, *exc):
        counts = self.stream.stop() if self.stream else {"meaningful": False}
        totals = self.run.current.requests
        for key, value in counts.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
            else:
                totals[key] = value
        return False
