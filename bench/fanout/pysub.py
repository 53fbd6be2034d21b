#!/usr/bin/env python3
"""pysub: fanout_sub in Python, with CURVE if asked (fanout_sub speaks no CURVE): --sockets SUB
sockets to one publish endpoint, and for every ViewChange when each socket received it
(time.monotonic_ns(), CLOCK_MONOTONIC as in fanout_sub). Same output: one line per view,
"view <id> <receivers> <first_ns> <p50_ns> <p99_ns> <last_ns>". Used by run.py --security.

    pysub.py --publish HOST:PORT [--sockets 100] [--seconds 10] [--key-file PATH --server-key PUB]
"""

import argparse
import os
import sys
import time

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
from rosterkit import wire  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--publish", required=True)
    ap.add_argument("--sockets", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--key-file", help="the client's secret key (PATH, and PATH.pub): CURVE")
    ap.add_argument("--server-key", help="the publishing node's public key")
    a = ap.parse_args()
    ctx = zmq.Context(2)
    creds = None
    if a.key_file:
        with open(a.key_file) as f:
            secret = f.read().strip().encode()
        with open(a.key_file + ".pub") as f:
            public = f.read().strip().encode()
        creds = (public, secret, a.server_key.encode())
    socks = []
    poller = zmq.Poller()
    for _ in range(a.sockets):
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        if creds:
            s.curve_publickey, s.curve_secretkey, s.curve_serverkey = creds
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(f"tcp://{a.publish}")
        poller.register(s, zmq.POLLIN)
        socks.append(s)
    arrivals = {}
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        ready = poller.poll(20)
        now = time.monotonic_ns()
        for s, _ in ready:
            while True:
                try:
                    data = s.recv(zmq.DONTWAIT)
                except zmq.Again:
                    break
                msg = wire.decode(data)
                if msg is not None and msg[0] == "ViewChange":
                    arrivals.setdefault(msg[1].ViewId(), []).append(now)
    for view, t in sorted(arrivals.items()):
        t.sort()
        print(f"view {view} {len(t)} {t[0]} {t[len(t) // 2]} {t[min(len(t) - 1, len(t) * 99 // 100)]} {t[-1]}")
    for s in socks:
        s.close(0)
    ctx.term()


if __name__ == "__main__":
    main()
