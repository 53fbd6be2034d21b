#!/usr/bin/python3
"""Watch the children of /roster-bench/members through --servers and print
'<time.monotonic()> <json sorted names>' per change (first: initial set)."""
import argparse, json, sys, threading, time
from peerlib import MEMBERS_PATH, kazoo_client

ap = argparse.ArgumentParser()
ap.add_argument("--servers", required=True, help="ip:port (one server to watch through)")
ap.add_argument("--session-ms", type=int, default=10000)
a = ap.parse_args()

zk = kazoo_client(a.servers, a.session_ms / 1000.0)
zk.add_listener(lambda st: print(f"state {st}", file=sys.stderr, flush=True))
zk.start(timeout=30)
zk.ensure_path(MEMBERS_PATH)


def changed(children):
    # Timestamp first: this callback runs when the new child list arrived.
    print(f"{time.monotonic():.6f} {json.dumps(sorted(children))}", flush=True)


zk.ChildrenWatch(MEMBERS_PATH, changed)
threading.Event().wait()
