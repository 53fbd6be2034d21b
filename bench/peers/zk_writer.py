#!/usr/bin/python3
"""Start a set() of /roster-bench/failover every --interval-ms without
waiting for the previous one, print 'ok|err <start> <end>' (monotonic) per
write.  Requests made while disconnected wait in kazoo's queue and go out
on reconnection; reconnection cycles through all servers every 20 ms
(kazoo's default backoff, like the Java client's random up-to-1 s
reconnect delay, would measure the client library, not the ensemble)."""
import argparse, sys, time
from peerlib import FAILOVER_KEY, kazoo_client, paced_writes

ap = argparse.ArgumentParser()
ap.add_argument("--servers", required=True)
ap.add_argument("--interval-ms", type=float, default=10)
ap.add_argument("--session-ms", type=int, default=10000)
ap.add_argument("--max-inflight", type=int, default=500)
a = ap.parse_args()

zk = kazoo_client(a.servers, a.session_ms / 1000.0,
                  connection_retry=dict(max_tries=-1, delay=0.02, backoff=1, max_jitter=0.0))
zk.add_listener(lambda st: print(f"state {st}", file=sys.stderr, flush=True))
zk.start(timeout=30)
zk.ensure_path(FAILOVER_KEY)
print("ready", flush=True)


def write(n, finished):
    start = time.monotonic()

    def done(result):
        finished()
        print(f"{'ok' if result.successful() else 'err'} {start:.6f} {time.monotonic():.6f}", flush=True)
    zk.set_async(FAILOVER_KEY, str(n).encode()).rawlink(done)


paced_writes(write, a.interval_ms, a.max_inflight)
