#!/usr/bin/python3
"""Watch the prefix /roster-bench/members/ through --endpoint and print
'<time.monotonic()> <json sorted names>' per change (first: initial set)."""
import argparse, json, os, sys, threading, time
import etcd3
from etcd3.events import DeleteEvent, PutEvent
from peerlib import MEMBERS_PREFIX

ap = argparse.ArgumentParser()
ap.add_argument("--endpoint", required=True, help="ip:port")
a = ap.parse_args()

host, port = a.endpoint.rsplit(":", 1)
client = etcd3.client(host, int(port), timeout=10.0)
resp = client.get_prefix_response(MEMBERS_PREFIX)
names = {kv.key.decode()[len(MEMBERS_PREFIX):] for kv in resp.kvs}


def emit(t):
    print(f"{t:.6f} {json.dumps(sorted(names))}", flush=True)


def changed(r):
    t = time.monotonic()          # when the watch response arrived
    if isinstance(r, Exception):
        print(f"watch failed: {r!r}", file=sys.stderr, flush=True)
        os._exit(2)
    for ev in r.events:
        name = ev.key.decode()[len(MEMBERS_PREFIX):]
        if isinstance(ev, PutEvent):
            names.add(name)
        elif isinstance(ev, DeleteEvent):
            names.discard(name)
    emit(t)


emit(time.monotonic())
# From the revision after our read, so no change falls between the two.
client.add_watch_prefix_callback(MEMBERS_PREFIX, changed, start_revision=resp.header.revision + 1)
threading.Event().wait()
