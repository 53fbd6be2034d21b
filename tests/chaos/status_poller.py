#!/usr/bin/python3
"""Asks one voter for its status every --interval seconds over one CURVE connection, and prints
one JSON line per poll: what `rosterctl status --json` would print (role, term, leader_voter_id,
commit_index, view_id) with "t" (time.time() of the answer), or {"t": ..., "error": "timeout"}
when no answer came within --timeout.

Run inside the voter's network namespace (next to it: network faults do not reach the poll, a
paused or killed voter does). One persistent connection, not a rosterctl process per poll: 5 polls
a second of every voter would otherwise cost a process start, a ZeroMQ context and a CURVE
handshake each.

    status_poller.py --endpoint 10.214.0.10:7400 --key-file READER --server-key PUB
"""

import argparse
import json
import os
import sys
import time

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit import wire  # noqa: E402
from rosterkit.keys import Key  # noqa: E402

ROLES = {wire.Role.Role.Member: "member", wire.Role.Role.Follower: "follower",
         wire.Role.Role.PreCandidate: "candidate", wire.Role.Role.Candidate: "candidate",
         wire.Role.Role.Leader: "leader"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--cluster", default="roster")
    p.add_argument("--key-file", required=True)
    p.add_argument("--server-key", required=True)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--timeout", type=float, default=1.0)
    args = p.parse_args()
    key = Key.read(args.key_file)

    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IMMEDIATE, 1)  # nothing queued while the voter is not connected
    sock.setsockopt(zmq.SNDHWM, 8)
    sock.curve_publickey, sock.curve_secretkey = key.public.encode(), key.secret.encode()
    sock.curve_serverkey = args.server_key.encode()
    sock.connect(f"tcp://{args.endpoint}")

    rid = 0
    next_poll = time.monotonic()
    while True:
        rid += 1
        answer = None
        sent = time.monotonic()
        try:
            sock.send(wire.status_request(args.cluster, rid), zmq.DONTWAIT)
            deadline = sent + args.timeout
            while answer is None:
                left = deadline - time.monotonic()
                if left <= 0 or not sock.poll(int(left * 1000) + 1):
                    break
                msg = wire.decode(sock.recv())
                if msg and msg[0] == "StatusReply":
                    r = wire.reply_dict(*msg)
                    if r["request_id"] == rid:
                        answer = r
        except zmq.Again:
            pass  # not connected (the voter is down): no answer
        t = time.time()
        if answer is None:
            line = {"t": t, "error": "timeout"}
        else:
            line = {"t": t, "role": ROLES.get(answer["role"], str(answer["role"])), "term": answer["term"],
                    "leader_voter_id": answer["leader_voter_id"], "commit_index": answer["commit_index"],
                    "view_id": answer["view_id"]}
        print(json.dumps(line), flush=True)
        if answer is None and time.monotonic() - sent < args.timeout:
            time.sleep(max(0.0, args.timeout - (time.monotonic() - sent)))  # not connected: one line per timeout
        next_poll = max(next_poll + args.interval, time.monotonic())
        time.sleep(max(0.0, next_poll - time.monotonic()))


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
