"""One ZeroMQ connection to a rosterd socket, with given credentials, that tells how its handshake
went: how the tests talk to a node directly, as a client or as an attacker would.

Credentials are a keys.Key (CurveZMQ: this key as the client, the node's public key as the server
key) or None (no CURVE at all: ZeroMQ's NULL mechanism, plaintext). A socket monitor reports
the handshake: "ok" (ZMQ_EVENT_HANDSHAKE_SUCCEEDED), "auth:400" (the server's ZAP handler
refused the key), "protocol:..." (the two sides speak different mechanisms, e.g. a plaintext
client and a CURVE server). Until a handshake succeeds, nothing sent leaves the client's queue:
a refused handshake means the bytes never reached the node.

    with Link(voter.listen, key, server_key=voter_key.public) as link:
        assert link.handshake() == "ok"
        reply = link.request(wire.status_request(cluster, 7), "StatusReply", 7)
"""

import time

import zmq
from zmq.utils.monitor import recv_monitor_message

from . import wire
from .waiting import wait_for

_HANDSHAKE = {zmq.EVENT_HANDSHAKE_SUCCEEDED: "ok", zmq.EVENT_HANDSHAKE_FAILED_AUTH: "auth",
              zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "protocol", zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "failed"}


def _context():
    return zmq.Context.instance()


class Link:
    def __init__(self, endpoint, key=None, server_key=None, kind=zmq.DEALER, sndhwm=None, subscribe=b""):
        self.endpoint = endpoint
        self.key = key
        self.sock = _context().socket(kind)
        self.sock.setsockopt(zmq.LINGER, 0)
        if sndhwm is not None:
            self.sock.setsockopt(zmq.SNDHWM, sndhwm)
        if key is not None:
            if server_key is None:
                raise ValueError("a CURVE client needs the server's public key")
            self.sock.curve_serverkey = server_key.encode() if isinstance(server_key, str) else server_key
            self.sock.curve_publickey = key.public.encode()
            self.sock.curve_secretkey = key.secret.encode()
        if kind == zmq.SUB:
            self.sock.setsockopt(zmq.SUBSCRIBE, subscribe)
        self._monitor = self.sock.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
            | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECTED)
        self.events = []  # (name, value) of every monitor event so far
        self.sock.connect(f"tcp://{endpoint}")
        self._unread = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sock is None:
            return
        try:
            self.sock.disable_monitor()
        except zmq.ZMQError:
            pass
        self._monitor.close(linger=0)
        self.sock.close(linger=0)
        self.sock = None

    # -- the handshake -----------------------------------------------------------------------
    def poll_events(self, timeout_ms=0):
        while self._monitor.poll(timeout_ms):
            e = recv_monitor_message(self._monitor)
            name = _HANDSHAKE.get(e["event"])
            if name is None:
                name = {zmq.EVENT_DISCONNECTED: "disconnected", zmq.EVENT_CONNECTED: "connected"}.get(e["event"], "?")
            self.events.append((name, int(e["value"])))
            timeout_ms = 0
        return self.events

    def outcomes(self):
        """The handshake outcomes so far: "ok", "auth:400", "protocol:0x...", in order."""
        out = []
        for name, value in self.poll_events():
            if name == "ok":
                out.append("ok")
            elif name == "auth":
                out.append(f"auth:{value}")
            elif name in ("protocol", "failed"):
                out.append(f"{name}:{value:#x}")
        return out

    def handshake(self, timeout=5.0):
        """The first handshake outcome (waits for it)."""
        return wait_for(f"a handshake outcome with {self.endpoint}",
                        lambda: (self.outcomes() or [None])[0], timeout, interval=0.01)

    def disconnects(self):
        return sum(1 for name, _ in self.poll_events() if name == "disconnected")

    # -- messages ----------------------------------------------------------------------------
    # A link whose handshake the node is expected to refuse: send() then queues only if the socket
    # takes the message now. Whether a connection exists to queue for depends on whether the
    # refusal came before the send; waiting for one would wait for nothing.
    may_be_refused = False

    def send(self, data, timeout=5.0):
        """Queues one message (blocks at most `timeout` s while the send queue is full; with
        may_be_refused, not at all)."""
        if self.may_be_refused:
            self.try_send(data)
            return
        self.sock.setsockopt(zmq.SNDTIMEO, int(timeout * 1000))
        self.sock.send(data, copy=len(data) < 65536)

    def try_send(self, data):
        """Queues one message if the socket takes it now; False if not (no connection to queue
        for, or the queue full)."""
        try:
            self.sock.send(data, zmq.DONTWAIT)
            return True
        except zmq.Again:
            return False

    def receive(self, timeout=0.0):
        """Every (kind, fields) decoded from what arrived within `timeout` s of the first wait."""
        out = []
        while self.sock.poll(int(timeout * 1000)):
            msg = wire.decode(self.sock.recv())
            if msg is not None:
                out.append((msg[0], wire.reply_dict(*msg)))
            timeout = 0
        return out

    def wait_reply(self, kind, request_id=None, timeout=3.0):
        """The first reply of this kind (and request id) that arrives; WaitTimeout if none."""
        def found():
            self._unread.extend(self.receive(0.05))
            for i, (k, fields) in enumerate(self._unread):
                if k == kind and (request_id is None or fields.get("request_id") == request_id):
                    del self._unread[i]
                    return fields
            return None
        return wait_for(f"a {kind} from {self.endpoint}", found, timeout, interval=0)

    def request(self, data, kind, request_id=None, timeout=3.0):
        self.send(data)
        return self.wait_reply(kind, request_id, timeout)


_next_request = [int(time.time()) % 100000 * 1000]


def request_id():
    """A fresh request id (unique within this process)."""
    _next_request[0] += 1
    return _next_request[0]
