#!/usr/bin/env python3
"""A roster subscriber in Python: follows the views of a rosterd, in order and without gaps.

It speaks the wire protocol directly (docs/protocol.md): ZeroMQ sockets from python3-zmq and
messages from the Python code that `flatc --python` generates from wire/roster.fbs (the build
puts it in build/python). It prints each view as one JSON line, in the format of
`rosterctl watch --json`.

    /usr/bin/python3 examples/python/subscriber.py --endpoint 127.0.0.1:7400

On a secured cluster (docs/security.md) it speaks CURVE through pyzmq, with rosterctl's flags
and environment variables: its own key file (--key-file, ROSTER_KEY_FILE), and the key of the
node it asks: a voter's from --voter-keys (ROSTER_VOTER_KEYS) for an endpoint ID@HOST:PORT, or
--server-key for a member (its key file's .pub). The publish endpoint that node names is the same
node, so the SUB socket expects the same server key.

    /usr/bin/python3 examples/python/subscriber.py --key-file KEY --voter-keys 1=PUB,2=PUB,3=PUB \
        --endpoint 1@127.0.0.1:7400
"""

import argparse
import json
import os
import sys
import time

import flatbuffers
import zmq
import zmq.utils.monitor
import zmq.utils.z85

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("ROSTER_PYTHON", os.path.join(HERE, "..", "..", "build", "python")))
from roster.wire.fb import (Body, Envelope, FullView, RemovalReason, Sender, StatusReply,  # noqa: E402
                            StatusRequest, SyncReply, SyncRequest, ViewChange)

PROTOCOL_VERSION = 1
REASONS = {RemovalReason.RemovalReason.Suspected: "suspected", RemovalReason.RemovalReason.Left: "left",
           RemovalReason.RemovalReason.Replaced: "replaced"}


# ---- keys (CURVE) -------------------------------------------------------------------------

def fail(why):
    raise SystemExit(f"subscriber.py: {why}")


def read_key_file(path):
    """(public, secret) Z85 bytes of a key file that `rosterctl keygen PATH` wrote (the secret key
    in Z85 on one line). Refused, as rosterd refuses it, if others may read it."""
    try:
        mode = os.stat(path).st_mode & 0o777
        with open(path, "rb") as f:
            secret = f.read().strip()
    except OSError as e:
        fail(f"--key-file {path}: {e.strerror}")
    if mode & 0o077:
        fail(f"--key-file {path}: mode {mode:04o}, must not be readable by others (chmod 600)")
    if len(secret) != 40:
        fail(f"--key-file {path}: not a secret key in Z85 (40 characters, from `rosterctl keygen`)")
    try:
        return zmq.curve_public(secret), secret
    except (zmq.ZMQError, ValueError) as e:
        fail(f"--key-file {path}: {e}")


def z85_key(text, what):
    key = text.strip().encode()
    if len(key) != 40:
        fail(f"{what}: '{text}' is not a public key in Z85 (40 characters)")
    return key


def parse_voter_keys(text):
    """{voter id: Z85 key} of "1=PUB,2=PUB,3=PUB" (Z85 has no ','; the first '=' ends the id)."""
    keys = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        vid, eq, key = item.partition("=")
        if not eq or not vid.isdigit():
            fail(f"--voter-keys: expected ID=PUB, got '{item}'")
        keys[int(vid)] = z85_key(key, f"--voter-keys {vid}")
    return keys


def target(endpoint, voter_keys, server_key):
    """(HOST:PORT, the server key to expect or None) of an endpoint HOST:PORT or ID@HOST:PORT."""
    where, key = endpoint, server_key
    vid, at, rest = endpoint.partition("@")
    if at:
        if not vid.isdigit():
            fail(f"--endpoint '{endpoint}': expected HOST:PORT or ID@HOST:PORT")
        where, key = rest, voter_keys.get(int(vid), server_key)
    if ":" not in where:
        fail(f"--endpoint '{endpoint}': expected HOST:PORT or ID@HOST:PORT")
    return where, key


# What a failed handshake means, as the C++ client says it.
HANDSHAKE_EVENTS = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL |
                    zmq.EVENT_HANDSHAKE_FAILED_AUTH)


def handshake_failure(event, secured):
    if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return "it refused this client's key (not in its --authorized-keys)"
    if not secured:
        return "it requires CURVE: give --key-file, and --voter-keys (voters as ID@HOST:PORT) or --server-key"
    if event["value"] == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        return "it runs without CURVE and this client has a key (leave out --key-file)"
    return "the CURVE handshake failed (is the server key right?)"


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
    member = {"id": m.Id(), "name": m.Name().decode(), "address": (m.Address() or b"").decode(),
              "incarnation": m.Incarnation(),
              "tags": {m.Tags(i).Key().decode(): (m.Tags(i).Value() or b"").decode()
                       for i in range(m.TagsLength())},
              # since 0.2: the view it joined in (0: unknown), and for a voter's own entry the voter
              "joined_view": m.JoinedView(), "voter_id": m.VoterId()}
    if m.KeyLength() == 32:  # its CURVE public key (a secured cluster), as rosterctl prints it
        member["key"] = zmq.utils.z85.encode(bytes(m.Key(i) for i in range(32))).decode()
    return member


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
    """Delivers views with strictly increasing ids, no gaps: the protocol of docs/protocol.md.

    Each turn of run() first drains every socket (the SUB stream, the replies, the handshake
    monitor) without blocking, and only then decides whether to send a SyncRequest: a subscriber
    that syncs before it drains asks with the view it held before a stall, gets a full view, and
    skips views it had already been sent (docs/protocol.md, "Drain the SUB socket before you send a
    SyncRequest")."""

    def __init__(self, endpoint, cluster, deliver, timeout=3.0, key=None, server_key=None):
        """endpoint: HOST:PORT. key: this client's (public, secret) Z85 keys on a secured cluster,
        and server_key the public key of the node at endpoint (None: plaintext)."""
        self.cluster, self.deliver, self.timeout = cluster, deliver, timeout
        self.endpoint = endpoint
        self.ctx = zmq.Context.instance()
        self.req = self.ctx.socket(zmq.DEALER)
        self.sub = self.ctx.socket(zmq.SUB)
        for s in (self.req, self.sub):
            s.setsockopt(zmq.LINGER, 0)
            if key:
                # The node publishes with the key it answers with: one server key for both.
                s.curve_publickey, s.curve_secretkey = key
                s.curve_serverkey = server_key
        self.secured = key is not None
        self.handshakes = self.req.get_monitor_socket(HANDSHAKE_EVENTS)
        self.handshake_error = None  # the latest failure, to explain a silence
        self.req.connect(f"tcp://{endpoint}")
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.view = None          # the last view delivered
        self.buffer = {}          # changes ahead of it, by id
        self.behind = False       # something ahead of the view was seen: a sync is due
        self.next_request = 1
        self.pending = None       # (request id, deadline, after_view_id) of the sync in flight
        self.last_sync = 0.0
        self.subscribed = False   # the SUB socket is connected
        self.receiving = False    # and a message came through it

    def ask(self, message):
        """Queues a request if a connection takes it now. When none does (the handshake was
        refused, or nothing listens yet) it is dropped: the sync's deadline asks again, and the
        loop says why once its timeout passes."""
        try:
            self.req.send(message, zmq.DONTWAIT)
        except zmq.Again:
            pass

    def sync(self, full=False):
        rid = self.next_request
        self.next_request += 1
        after = self.view["view_id"] if self.view else 0
        self.ask(sync_request(self.cluster, rid, after, full or self.view is None))
        self.pending = (rid, time.monotonic() + self.timeout, after)
        self.last_sync = time.monotonic()
        self.behind = False

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
        self.behind = True  # a gap: asked for once the sockets are drained

    def on_full(self, full):
        if self.view and full["view_id"] == self.view["view_id"] + 1:
            self.emit(full)
            self.drain_buffer()
        elif not self.view or full["view_id"] > self.view["view_id"]:
            self.behind = True  # the changes in between may still be held: ask before jumping

    def on_sync_reply(self, r):
        if self.pending is None or r.RequestId() != self.pending[0]:
            return
        asked_after = self.pending[2]
        self.pending = None
        if r.Full() is not None:
            full = view_of(r.Full())
            if self.view is None or full["view_id"] == self.view["view_id"] + 1:
                self.emit(full)
            elif full["view_id"] > self.view["view_id"]:
                if asked_after < self.view["view_id"]:
                    # It answers a view older than ours (the stream moved us on meanwhile): the
                    # node may hold the changes after ours. Ask again before skipping anything.
                    self.behind = True
                else:
                    self.emit(full, resync=True)
        for i in range(r.ChangesLength()):
            c = r.Changes(i)
            if self.view and c.ViewId() == self.view["view_id"] + 1:
                self.emit(apply_change(self.view, c))
        self.drain_buffer()
        if self.buffer:
            self.behind = True

    def handle(self, sock, data):
        msg = decode(data, self.cluster)
        if msg is None:
            return
        kind, body = msg
        if sock is self.sub and not self.receiving:
            self.receiving = True  # said once, on stderr: the stream itself works
            print(f"subscriber.py: receiving the views published at {self.publish}", file=sys.stderr, flush=True)
        if kind == Body.Body.StatusReply and not self.subscribed and body.PublishEndpoint():
            where = body.PublishEndpoint().decode()
            host, port = where.rsplit(":", 1)
            if host in ("0.0.0.0", "*"):  # a wildcard bind: the host we reached it at
                host = self.endpoint.rsplit(":", 1)[0]
            self.publish = f"{host}:{port}"
            self.sub.connect(f"tcp://{self.publish}")
            self.subscribed = True
        elif kind == Body.Body.SyncReply:
            self.on_sync_reply(body)
        elif kind == Body.Body.ViewChange:
            self.on_change(body)
        elif kind == Body.Body.FullView:
            self.on_full(view_of(body.View()))

    def drain(self):
        """Reads and applies every message the sockets hold now, without blocking: the stream
        first, then the replies (one that came during a stall answers the request in flight)."""
        for sock in (self.sub, self.req):
            while True:
                try:
                    data = sock.recv(zmq.DONTWAIT)
                except zmq.Again:
                    break
                self.handle(sock, data)
        while True:
            try:
                event = zmq.utils.monitor.recv_monitor_message(self.handshakes, zmq.DONTWAIT)
            except zmq.Again:
                break
            self.handshake_error = handshake_failure(event, self.secured)

    def run(self, until=lambda: False):
        started = time.monotonic()
        self.ask(status_request(self.cluster, 0))
        self.sync(full=True)
        poller = zmq.Poller()
        poller.register(self.req, zmq.POLLIN)
        poller.register(self.sub, zmq.POLLIN)
        poller.register(self.handshakes, zmq.POLLIN)
        while True:
            self.drain()  # first: everything already here (docs/protocol.md)
            if until():
                return
            now = time.monotonic()
            if self.view is None and now - started > self.timeout:
                fail(f"cannot talk to {self.endpoint}: {self.handshake_error}" if self.handshake_error else
                     f"no answer from {self.endpoint} within {self.timeout} s (is rosterd running there, "
                     f"in cluster '{self.cluster}'?)")
            # Then: ask for what is still missing, after the view the drain brought us to.
            if self.pending and now > self.pending[1]:
                self.pending = None
                self.ask(status_request(self.cluster, 0))
                self.sync()
            elif self.pending is None and (self.behind or now - self.last_sync > 1.0):
                self.sync()  # a gap, or a quiet stream that may hide a lost last message
            poller.poll(100)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", default="127.0.0.1:7400",
                   help="the --listen endpoint of any rosterd: HOST:PORT, or ID@HOST:PORT for voter ID")
    p.add_argument("--cluster", default="roster")
    p.add_argument("--count", type=int, default=0, help="stop after this many views (0: never)")
    p.add_argument("--key-file", default=os.environ.get("ROSTER_KEY_FILE"),
                   help="this client's CURVE secret key, for a secured cluster (env ROSTER_KEY_FILE)")
    p.add_argument("--voter-keys", default=os.environ.get("ROSTER_VOTER_KEYS", ""),
                   help="the voters' public keys, 1=PUB,2=PUB,3=PUB (env ROSTER_VOTER_KEYS)")
    p.add_argument("--server-key", help="the public key of the node at a HOST:PORT endpoint (a member's)")
    args = p.parse_args()
    voter_keys = parse_voter_keys(args.voter_keys)
    server_key = z85_key(args.server_key, "--server-key") if args.server_key else None
    where, expect = target(args.endpoint, voter_keys, server_key)
    key = read_key_file(args.key_file) if args.key_file else None
    if key and expect is None:
        fail(f"--endpoint '{args.endpoint}': no key for it; give voter endpoints as ID@HOST:PORT with "
             "--voter-keys, or a member's key with --server-key")
    seen = []

    def deliver(view):
        seen.append(view)
        print(json.dumps(view), flush=True)
    Subscriber(where, args.cluster, deliver, key=key, server_key=expect).run(
        until=lambda: args.count and len(seen) >= args.count)


if __name__ == "__main__":
    main()
