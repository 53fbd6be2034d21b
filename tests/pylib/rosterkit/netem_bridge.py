#!/usr/bin/python3
"""A userspace stand-in for `tc netem` on a bridge, for kernels built without sch_netem.

It runs inside the hub namespace and bridges the hub ends of the hosts' veth pairs itself
(AF_PACKET sockets, MAC learning, flooding of broadcasts and unknown destinations). Every frame
that a host sends (the hub end *receives* it) is impaired once, like netem on the host end's
egress would do it:

  - dropped with probability loss;
  - otherwise held for delay + uniform(-jitter, +jitter) (clamped at 0), the distribution netem
    uses when no table is given, and sent in the order of those release times, so large jitter
    reorders frames exactly as netem's time-sorted queue does.

So every one-way path host A -> host B is impaired exactly once (at A), as with netem on the
host side of each veth. The hosts' veths must have checksum offload and segmentation off
(`ethtool -K eth0 tx off tso off gso off gro off`): frames are copied as raw bytes.

Usage (in the hub namespace):
  netem_bridge.py --port IF:DELAY_MS:JITTER_MS:LOSS_PCT [--port ...] [--seed N]
                  [--stats FILE] [--ready FILE]
SIGTERM or SIGINT: writes the stats (frames in, dropped, forwarded, lateness of releases) and exits.
"""

import argparse
import gc
import heapq
import json
import os
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4


class Port:
    def __init__(self, name, delay_ms, jitter_ms, loss_pct):
        self.name = name
        self.delay = delay_ms / 1000.0
        self.jitter = jitter_ms / 1000.0
        self.loss = loss_pct / 100.0
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:
            pass  # older kernels: outgoing frames are filtered by pkttype below
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.sock.bind((name, ETH_P_ALL))
        self.sock.setblocking(False)
        self.frames_in = self.dropped = self.sent = self.send_errors = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", action="append", required=True, help="IF:DELAY_MS:JITTER_MS:LOSS_PCT")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stats", help="write JSON stats here on exit")
    ap.add_argument("--ready", help="touch this file once every port is open")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    ports = []
    for spec in args.port:
        name, d, j, l = spec.split(":")
        ports.append(Port(name, float(d), float(j), float(l)))
    by_fd = {p.sock.fileno(): p for p in ports}
    mac_to_port = {}
    queue = []  # (release time, seq, frame, [destination ports])
    seq = 0
    # Lateness of releases (actual - planned), a histogram of 0.1 ms bins up to 100 ms, and the max.
    late_bins = [0] * 1001
    late_max = [0.0]
    stopping = []

    def stop(_sig, _frame):
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    poller = select.epoll()
    for p in ports:
        poller.register(p.sock.fileno(), select.EPOLLIN)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write(str(os.getpid()))

    # Nothing here makes reference cycles: no collector pauses while frames wait.
    gc.disable()
    started = time.monotonic()
    while not stopping:
        now = time.monotonic()
        timeout = -1 if not queue else max(0.0, queue[0][0] - now)
        try:
            events = poller.poll(timeout if timeout >= 0 else 1.0)
        except InterruptedError:
            continue
        for fd, _ in events:
            src = by_fd[fd]
            while True:
                try:
                    frame, addr = src.sock.recvfrom(65536)
                except (BlockingIOError, InterruptedError):
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                src.frames_in += 1
                if len(frame) >= 12:
                    dst_mac, src_mac = frame[0:6], frame[6:12]
                    mac_to_port[src_mac] = src
                    if dst_mac[0] & 1:  # broadcast / multicast
                        dests = [p for p in ports if p is not src]
                    else:
                        d = mac_to_port.get(dst_mac)
                        dests = [d] if d is not None else [p for p in ports if p is not src]
                        dests = [p for p in dests if p is not src]
                else:
                    continue
                if src.loss > 0 and rng.random() < src.loss:
                    src.dropped += 1
                    continue
                delay = src.delay
                if src.jitter > 0:
                    delay += rng.uniform(-src.jitter, src.jitter)
                t = time.monotonic() + max(0.0, delay)
                seq += 1
                heapq.heappush(queue, (t, seq, frame, dests))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            t, _, frame, dests = heapq.heappop(queue)
            late = now - t
            late_bins[min(1000, int(late * 10000))] += 1
            if late > late_max[0]:
                late_max[0] = late
            for d in dests:
                try:
                    d.sock.send(frame)
                    d.sent += 1
                except OSError:
                    d.send_errors += 1

    if args.stats:
        released = sum(late_bins)

        def q(p):
            """Upper edge of the bin holding the p-quantile, in ms (101 = above 100 ms)."""
            if not released:
                return None
            seen = 0
            for i, c in enumerate(late_bins):
                seen += c
                if seen >= p * released:
                    return (i + 1) / 10.0
            return None
        stats = {
            "seconds": time.monotonic() - started,
            "ports": {p.name: {"frames_in": p.frames_in, "dropped": p.dropped, "sent": p.sent,
                               "send_errors": p.send_errors} for p in ports},
            "released": released,
            "lateness_ms": {"p50": q(0.5), "p99": q(0.99), "p999": q(0.999),
                            "max": late_max[0] * 1000 if released else None},
        }
        tmp = args.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f, indent=1)
        os.replace(tmp, args.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
