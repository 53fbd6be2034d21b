#!/usr/bin/env python3
"""A roster subscriber in Python: follows the views of a rosterd, in order and without gaps.

It speaks the wire protocol directly (docs/protocol.md): ZeroMQ sockets from python3-zmq and
messages from the Python code that `flatc --python` generates from wire/roster.fbs (the build
puts it in build/python). It prints each view as one JSON line, in the format of
`rosterctl watch --json`.

    /usr/bin/python3 examples/python/subscriber.py --endpoint 127.0.0.1:7400
"""

import argparse
import json
import os
import sys
import time

import flatbuffers
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("ROSTER_PYTHON", os.path.join(HERE, "..", "..", "build", "python")))
from roster.wire.fb import (Body, Envelope, FullView, RemovalReason, Sender, StatusReply,  # noqa: E402
                            StatusRequest, SyncReply, SyncRequest, ViewChange)

PROTOCOL_VERSION = 1
REASONS = {RemovalReason.RemovalReason.Suspected: "suspected", RemovalReason.RemovalReason.Left: "left",
           RemovalReason.RemovalReason.Replaced: "replaced"}


# ---- encoding ------------------------------------------------------------------------------

def envelope(cluster, body_type, make_body):
    """One size-prefixed Envelope ("RSTR"), as every roster socket carries."""
    b = flatbuffers.Builder(256)
    body = make_body(b)
    name = b.CreateString("python-subscriber")
    Sender.Start(b)
    Sender.AddName(b, name)
    sender = Sender.End(b)
    cluster_off = b.CreateString(cluster)
    Envelope.Start(b)
    Envelope.AddProtocolVersion(b, PROTOCOL_VERSION)
    Envelope.AddCluster(b, cluster_off)
    Envelope.AddSender(b, sender)
    Envelope.AddBodyType(b, body_type)
    Envelope.AddBody(b, body)
    b.FinishSizePrefixed(Envelope.End(b), file_identifier=b"RSTR")
    return bytes(b.Output())


def status_request(cluster, request_id):
    def body(b):
        StatusRequest.Start(b)
        StatusRequest.AddRequestId(b, request_id)
        return StatusRequest.End(b)
    return envelope(cluster, Body.Body.StatusRequest, body)


def sync_request(cluster, request_id, after, full):
    def body(b):
        SyncRequest.Start(b)
        SyncRequest.AddRequestId(b, request_id)
        SyncRequest.AddAfterViewId(b, after)
        SyncRequest.AddFull(b, full)
        return SyncRequest.End(b)
    return envelope(cluster, Body.Body.SyncRequest, body)


# ---- decoding ------------------------------------------------------------------------------

def decode(data, cluster):
    """(body type, body table) of a message, or None if it is not a valid message of this cluster."""
    try:
        if len(data) < 12 or flatbuffers.util.GetSizePrefix(data, 0) != len(data) - 4:
            return None
        if not Envelope.Envelope.EnvelopeBufferHasIdentifier(data, 0, size_prefixed=True):
            return None
        env = Envelope.Envelope.GetRootAs(data, 4)
        if env.ProtocolVersion() != PROTOCOL_VERSION or env.Cluster().decode() != cluster:
            return None
        table = env.Body()
        if table is None:
            return None
        kinds = {Body.Body.ViewChange: ViewChange.ViewChange, Body.Body.FullView: FullView.FullView,
                 Body.Body.SyncReply: SyncReply.SyncReply, Body.Body.StatusReply: StatusReply.StatusReply}
        cls = kinds.get(env.BodyType())
        if cls is None:
            return None
        body = cls()
        body.Init(table.Bytes, table.Pos)
        return env.BodyType(), body
    except Exception:  # bytes from the network: never let them crash the subscriber
        return None


def member_of(m):
    return {"id": m.Id(), "name": m.Name().decode(), "address": (m.Address() or b"").decode(),
            "incarnation": m.Incarnation()}


def view_of(v):
    """A full View table as a dict."""
    return {"view_id": v.ViewId(),
            "members": {m["id"]: m for m in (member_of(v.Members(i)) for i in range(v.MembersLength()))},
            "leader_id": v.LeaderId(), "fencing_token": v.FencingToken(),
            "joined": [v.Joined(i) for i in range(v.JoinedLength())],
            "removed": [{"id": v.Removed(i).Id(), "reason": REASONS[v.Removed(i).Reason()]}
                        for i in range(v.RemovedLength())]}


def apply_change(view, c):
    """The view that ViewChange `c` makes out of `view` (c.ViewId() == view_id + 1)."""
    members = dict(view["members"])
    removed = [{"id": c.Removed(i).Id(), "reason": REASONS[c.Removed(i).Reason()]} for i in range(c.RemovedLength())]
    for r in removed:
        members.pop(r["id"], None)
    joined = [member_of(c.Joined(i)) for i in range(c.JoinedLength())]
    for m in joined:
        members[m["id"]] = m
    return {"view_id": c.ViewId(), "members": members, "leader_id": c.LeaderId(), "fencing_token": c.FencingToken(),
            "joined": [m["id"] for m in joined], "removed": removed}


def as_json(view, resync):
    """The rosterctl watch --json line of a view."""
    members = [view["members"][i] for i in sorted(view["members"])]
    leader = view["members"].get(view["leader_id"])
    return {"view_id": view["view_id"],
            "leader": {"id": leader["id"], "name": leader["name"], "fencing_token": view["fencing_token"]}
            if leader else None,
            "members": members, "joined": view["joined"], "removed": view["removed"], "resync": resync}


# ---- the subscriber ------------------------------------------------------------------------

class Subscriber:
    """Delivers views with strictly increasing ids, no gaps: the protocol of docs/protocol.md."""

    def __init__(self, endpoint, cluster, deliver, timeout=3.0):
        self.cluster, self.deliver, self.timeout = cluster, deliver, timeout
        self.endpoint = endpoint
        self.ctx = zmq.Context.instance()
        self.req = self.ctx.socket(zmq.DEALER)
        self.req.setsockopt(zmq.LINGER, 0)
        self.req.connect(f"tcp://{endpoint}")
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.view = None          # the last view delivered
        self.buffer = {}          # changes ahead of it, by id
        self.next_request = 1
        self.pending = None       # (request id, deadline) of the sync in flight
        self.last_sync = 0.0
        self.subscribed = False

    def ask(self, message):
        self.req.send(message, zmq.DONTWAIT)

    def sync(self, full=False):
        rid = self.next_request
        self.next_request += 1
        after = self.view["view_id"] if self.view else 0
        self.ask(sync_request(self.cluster, rid, after, full or self.view is None))
        self.pending = (rid, time.monotonic() + self.timeout)
        self.last_sync = time.monotonic()

    def emit(self, view, resync=False):
        self.view = view
        if view["view_id"] > 0:
            self.deliver(as_json(view, resync))

    def drain_buffer(self):
        while self.view and self.view["view_id"] + 1 in self.buffer:
            self.emit(apply_change(self.view, self.buffer.pop(self.view["view_id"] + 1)))
        for k in [k for k in self.buffer if self.view and k <= self.view["view_id"]]:
            del self.buffer[k]

    def on_change(self, c):
        vid = c.ViewId()
        if self.view and vid <= self.view["view_id"]:
            return
        if self.view and vid == self.view["view_id"] + 1:
            self.emit(apply_change(self.view, c))
            self.drain_buffer()
            return
        self.buffer[vid] = c
        if self.pending is None:
            self.sync()  # a gap: ask for what we missed

    def on_sync_reply(self, r):
        if self.pending is None or r.RequestId() != self.pending[0]:
            return
        self.pending = None
        if r.Full() is not None:
            full = view_of(r.Full())
            if self.view is None or full["view_id"] == self.view["view_id"] + 1:
                self.emit(full)
            elif full["view_id"] > self.view["view_id"]:
                self.emit(full, resync=True)
        for i in range(r.ChangesLength()):
            c = r.Changes(i)
            if self.view and c.ViewId() == self.view["view_id"] + 1:
                self.emit(apply_change(self.view, c))
        self.drain_buffer()
        if self.buffer:
            self.sync()

    def run(self, until=lambda: False):
        started = time.monotonic()
        self.ask(status_request(self.cluster, 0))
        self.sync(full=True)
        poller = zmq.Poller()
        poller.register(self.req, zmq.POLLIN)
        poller.register(self.sub, zmq.POLLIN)
        while not until():
            now = time.monotonic()
            if self.view is None and now - started > self.timeout:
                raise SystemExit(f"subscriber.py: no answer from {self.endpoint} within {self.timeout} s")
            if self.pending and now > self.pending[1]:
                self.pending = None
                self.ask(status_request(self.cluster, 0))
                self.sync()
            elif self.pending is None and now - self.last_sync > 1.0:
                self.sync()  # a quiet stream may hide a lost last message
            for sock, _ in poller.poll(100):
                while True:
                    try:
                        data = sock.recv(zmq.DONTWAIT)
                    except zmq.Again:
                        break
                    msg = decode(data, self.cluster)
                    if msg is None:
                        continue
                    kind, body = msg
                    if kind == Body.Body.StatusReply and not self.subscribed and body.PublishEndpoint():
                        where = body.PublishEndpoint().decode()
                        host, port = where.rsplit(":", 1)
                        if host in ("0.0.0.0", "*"):  # a wildcard bind: the host we reached it at
                            host = self.endpoint.rsplit(":", 1)[0]
                        self.sub.connect(f"tcp://{host}:{port}")
                        self.subscribed = True
                    elif kind == Body.Body.SyncReply:
                        self.on_sync_reply(body)
                    elif kind == Body.Body.ViewChange:
                        self.on_change(body)
                    elif kind == Body.Body.FullView:
                        full = view_of(body.View())
                        if self.view and full["view_id"] == self.view["view_id"] + 1:
                            self.emit(full)
                        elif not self.view or full["view_id"] > self.view["view_id"]:
                            self.sync()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", default="127.0.0.1:7400", help="the --listen endpoint of any rosterd")
    p.add_argument("--cluster", default="roster")
    p.add_argument("--count", type=int, default=0, help="stop after this many views (0: never)")
    args = p.parse_args()
    seen = []

    def deliver(view):
        seen.append(view)
        print(json.dumps(view), flush=True)
    Subscriber(args.endpoint, args.cluster, deliver).run(until=lambda: args.count and len(seen) >= args.count)


if __name__ == "__main__":
    main()
