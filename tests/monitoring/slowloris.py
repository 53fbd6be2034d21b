"""Slow connections against a rosterd's /metrics (issue 13): the attacker of
test_metrics_endpoint.py, and, run as a program, the measurement behind the defaults of
--metrics-threads and --metrics-request-timeout-ms (docs/monitoring.md, "Serving /metrics").

The attacker keeps N TCP connections open to the metrics port, each having sent the start of a
request line and then nothing, and opens a new one at once whenever the server closes one (as a
real slowloris does). CivetWeb gives each connection a worker thread until its request has
arrived or the request timeout has passed; connections beyond the workers wait in its queue, and
so does a real scrape that comes after them.

As a program: for each --threads value, a single voter on ports of the kit, N slow connections,
and a real GET /metrics every --interval seconds for --seconds; prints a markdown table of the
scrape times during and after the attack (a scrape that takes longer than --scrape-timeout
counts as failed), and the rosterd's threads and resident memory:

    /usr/bin/python3 tests/monitoring/slowloris.py --threads 2,8,64,256 --timeout-ms 5000
"""

import argparse
import base64
import errno
import http.client
import os
import selectors
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
from rosterkit.stats import summary  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402

PARTIAL_REQUEST = b"GET /metrics HTT"  # the start of a request line, never finished


class Slowloris:
    """Keeps `connections` connections to endpoint ("host:port") open, each having sent `partial`
    and then nothing; one the server closes is replaced at once. A thread does the work; stop()
    closes everything."""

    def __init__(self, endpoint, connections=200, partial=PARTIAL_REQUEST):
        host, port = endpoint.rsplit(":", 1)
        self.address = (host, int(port))
        self.connections = connections
        self.partial = partial
        self.closed_by_server = 0      # connections the server closed (or reset) after we sent
        self.connect_failures = 0
        self._open = 0                 # connected and sent, not closed by the server
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sel = selectors.DefaultSelector()
        self._thread = threading.Thread(target=self._run, name="slowloris", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def open_count(self):
        """Connections established that have sent their partial request and are still open."""
        with self._lock:
            return self._open

    def wait_all_open(self, timeout=30.0):
        return wait_for(f"{self.connections} slow connections to be open",
                        lambda: self.open_count() >= self.connections, timeout, interval=0.02)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- the thread --------------------------------------------------------------------------
    def _connect(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(self.address)
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self.connect_failures += 1
            return False
        self._sel.register(s, selectors.EVENT_WRITE, "connecting")
        return True

    def _close(self, s):
        self._sel.unregister(s)
        s.close()

    def _run(self):
        pending = self.connections
        retry_at = 0.0
        try:
            while not self._stop.is_set():
                if pending and time.monotonic() >= retry_at:
                    while pending and self._connect():
                        pending -= 1
                    if pending:
                        retry_at = time.monotonic() + 0.05  # out of something: try again shortly
                for key, _ in self._sel.select(timeout=0.05):
                    s = key.fileobj
                    if key.data == "connecting":
                        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                            self._close(s)
                            self.connect_failures += 1
                            pending += 1
                            continue
                        s.send(self.partial)
                        self._sel.modify(s, selectors.EVENT_READ, "open")
                        with self._lock:
                            self._open += 1
                        continue
                    # Readable: the server answers (a 408, say) or closes. Read it to the end.
                    try:
                        data = s.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        continue
                    self._close(s)
                    with self._lock:
                        self._open -= 1
                        self.closed_by_server += 1
                    pending += 1
        finally:
            for key in list(self._sel.get_map().values()):
                key.fileobj.close()
            self._sel.close()
            with self._lock:
                self._open = 0


def get_metrics(endpoint, timeout, auth=None):
    """GET /metrics: (status, seconds taken, headers, body); raises OSError (socket.timeout
    included) if it does not complete within `timeout`. auth: (user, password) for basic auth."""
    host, port = endpoint.rsplit(":", 1)
    headers = {}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    start = time.monotonic()
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        c.request("GET", "/metrics", headers=headers)
        r = c.getresponse()
        body = r.read().decode()
        return r.status, time.monotonic() - start, dict(r.getheaders()), body
    finally:
        c.close()


def proc_status(pid):
    """Threads and resident memory (KiB) of a process, from /proc."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Threads", "VmRSS"):
                out[key] = int(value.split()[0])
    return out


def measure(threads, timeout_ms, connections, seconds, interval, scrape_timeout):
    from rosterkit.cluster import Cluster
    c = Cluster(voters=1, cluster="slowloris",
                voter_args=["--metrics-threads", str(threads), "--metrics-request-timeout-ms", str(timeout_ms)])
    try:
        c.start_voters()
        node = c.voter_nodes[0]
        before = [get_metrics(node.metrics, scrape_timeout)[1] for _ in range(5)]
        idle = proc_status(node.proc.pid)
        during, failed = [], 0
        with Slowloris(node.metrics, connections) as attack:
            attack.wait_all_open()
            loaded = proc_status(node.proc.pid)
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    status, took, _, _ = get_metrics(node.metrics, scrape_timeout)
                    if status != 200:
                        failed += 1
                    else:
                        during.append(took)
                except OSError:
                    failed += 1
                time.sleep(interval)
            open_at_end = attack.open_count()
            closed = attack.closed_by_server
        after = wait_for("a scrape after the attack", lambda: get_metrics(node.metrics, scrape_timeout)[1],
                         timeout=max(60.0, 2 * timeout_ms / 1000 * connections / threads))
        return {"threads": threads, "timeout_ms": timeout_ms, "during": summary(during), "failed": failed,
                "open_at_end": open_at_end, "closed_by_server": closed, "before": summary(before),
                "after": after, "idle": idle, "loaded": loaded}
    finally:
        c.cleanup()


def main():
    from rosterkit.machine import loadavg
    from rosterkit.procs import kill_on_signals
    from rosterkit.report import command_line, ms, table
    kill_on_signals()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="2,8,64,256", help="--metrics-threads values, comma-separated")
    ap.add_argument("--timeout-ms", default="5000", help="--metrics-request-timeout-ms values, comma-separated")
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=15.0, help="scrapes during the attack, for this long")
    ap.add_argument("--interval", type=float, default=0.2, help="between two scrapes")
    ap.add_argument("--scrape-timeout", type=float, default=10.0,
                    help="a scrape that takes longer fails (Prometheus's default scrape_timeout: 10 s)")
    a = ap.parse_args()
    print(f"`{command_line()}` (load average at start {' '.join(loadavg())}, {os.cpu_count()} cores)\n", flush=True)
    rows = []
    for timeout_ms in (int(x) for x in a.timeout_ms.split(",")):
        for threads in (int(x) for x in a.threads.split(",")):
            r = measure(threads, timeout_ms, a.connections, a.seconds, a.interval, a.scrape_timeout)
            d = r["during"]
            rows.append([threads, timeout_ms, d["n"] + r["failed"], r["failed"],
                         ms(d["median"]) if d["n"] else "-", ms(d["max"]) if d["n"] else "-",
                         ms(r["after"]), r["closed_by_server"], r["open_at_end"],
                         f"{r['idle']['Threads']} / {r['idle']['VmRSS'] / 1024:.1f}",
                         f"{r['loaded']['Threads']} / {r['loaded']['VmRSS'] / 1024:.1f}"])
            print(f"threads {threads}, timeout {timeout_ms} ms: {r}", file=sys.stderr, flush=True)
    print(table(["--metrics-threads", "--metrics-request-timeout-ms", "scrapes during", "failed (non-200 or > "
                 f"{a.scrape_timeout:g} s)", "median ms", "max ms", "after ms", "slow connections closed by "
                 "rosterd", "still open at end", "threads / RSS MiB idle", "threads / RSS MiB attacked"], rows))
    print(f"\n{a.connections} slow connections for {a.seconds:g} s; load average at end {' '.join(loadavg())}")


if __name__ == "__main__":
    main()
