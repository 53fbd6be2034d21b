#!/usr/bin/python3
"""Start a put of /roster-bench/failover every --interval-ms without waiting
for earlier ones, print 'ok|err <start> <end>' (monotonic) per put.  Each put
has a --timeout-s deadline; a failed put moves later ones to the next
endpoint (python-etcd3 talks to one endpoint; this is the failover etcd's Go
client does for itself)."""
import argparse, sys, threading, time
import etcd3
from peerlib import FAILOVER_KEY, paced_writes      # puts the kit (tests/pylib) on sys.path
from rosterkit.waiting import wait_for

ap = argparse.ArgumentParser()
ap.add_argument("--endpoints", required=True)
ap.add_argument("--interval-ms", type=float, default=10)
ap.add_argument("--timeout-s", type=float, default=1.0)
ap.add_argument("--max-inflight", type=int, default=500)
a = ap.parse_args()

clients = [etcd3.client(h, int(p), timeout=a.timeout_s)
           for h, p in (e.rsplit(":", 1) for e in a.endpoints.split(","))]
idx = 0
lock = threading.Lock()


def first_put():
    """One put through endpoint idx; on failure the next endpoint."""
    global idx
    try:
        clients[idx].put(FAILOVER_KEY, "0")
        return True
    except Exception as e:
        print(f"first put via {idx} failed: {e!r}", file=sys.stderr, flush=True)
        idx = (idx + 1) % len(clients)
        raise


wait_for("a first put", first_put, timeout=30, interval=0.1)
print("ready", flush=True)


def write(n, finished):
    with lock:
        via = idx
    start = time.monotonic()

    def done(fut):
        global idx
        end = time.monotonic()
        ok = fut.exception() is None
        finished()
        with lock:
            if not ok and via == idx:
                idx = (idx + 1) % len(clients)
            print(f"{'ok' if ok else 'err'} {start:.6f} {end:.6f} {via}", flush=True)
    c = clients[via]
    c.kvstub.Put.future(c._build_put_request(FAILOVER_KEY, str(n)), timeout=a.timeout_s).add_done_callback(done)


paced_writes(write, a.interval_ms, a.max_inflight)
