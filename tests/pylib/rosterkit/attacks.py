"""The attacks of issue 13, as the bytes an attacker sends, and an observer of what they changed.

Each sender takes a link.Link, already connected with whatever credentials the caller chose (no
CURVE, a key nobody authorized, another member's key, a voter's key), and the values an attacker
reads from `rosterctl status` / `rosterctl members --json` (terms, indexes, member ids and
incarnations are public). A sender only sends: whether the bytes got through is the link's
handshake, and what they did is for the Observer to tell.

Used by tests/integration/test_attacks.py (a secured cluster: every attack refused) and
tests/integration/attack_table.py (a plaintext cluster: which attacks work there).
"""

import random
import re
import signal
import time

from . import wire
from .link import Link, request_id
from .metrics import scrape
from .waiting import wait_for

MiB = 1 << 20
MAX_TERM = 2 ** 62  # the contract: a term above this is refused


# ---- peer socket (voters only) -------------------------------------------------------------

def forged_append_with_join(link, cluster, claimed_leader, term, prev_index, prev_term, ghost):
    """AppendEntries 'from the leader' in a higher term, carrying a JoinOp for `ghost`, with a
    commit index that commits it at once."""
    entry = (prev_index + 1, term, wire.join_command(ghost, 1))
    link.send(wire.append_entries(cluster, term, prev_index, prev_term, [entry], commit=prev_index + 1,
                                  voter=claimed_leader))


def append_with_term(link, cluster, claimed_voter, term=wire.U64_MAX):
    """An empty AppendEntries (a leader's heartbeat) in term `term` (default 2^64 - 1)."""
    link.send(wire.append_entries(cluster, term, 0, 0, [], 0, voter=claimed_voter))


def forged_suspicions(link, cluster, claimed_voter, member_id, incarnation):
    """A SuspicionReport 'from' claimed_voter: it suspects the member (phi 100)."""
    link.send(wire.suspicion_report(cluster, [(member_id, incarnation, 100.0, True)], voter=claimed_voter))


def garbage_snapshot(link, cluster, claimed_leader, term, after_index, size=4096, seed=13):
    """An InstallSnapshot in the current term whose data is random bytes."""
    data = random.Random(seed).randbytes(size)
    link.send(wire.install_snapshot(cluster, term, after_index + 1000, term, data, voter=claimed_leader))


# ---- listen socket (members and clients) ---------------------------------------------------

def forged_leave(link, cluster, member_id, incarnation, wait=True):
    """A Leave for the member; wait=False: not sent if the link takes no more messages now (a link
    whose handshake is refused may have no connection to queue for)."""
    rid = request_id()
    data = wire.leave(cluster, rid, member_id, incarnation, member=member_id)
    if wait:
        link.send(data)
    else:
        link.try_send(data)
    return rid


def forged_heartbeat(link, cluster, member_id, incarnation, sequence, known_view_id=0, wait=True):
    """A Heartbeat for the member; wait=False: not sent if the link takes no more messages now."""
    data = wire.heartbeat(cluster, member_id, incarnation, sequence, known_view_id, member=member_id)
    if wait:
        link.send(data)
    else:
        link.try_send(data)


def join_as(link, cluster, name, incarnation, wait=True, **fields):
    """A JoinRequest under `name` (str or raw bytes); returns its request id. wait=False: not
    sent if the link takes no more messages now (a link whose handshake is refused may have no
    connection to queue for, depending on whether the refusal came before the send)."""
    rid = request_id()
    data = wire.join_request(cluster, rid, name, incarnation, **fields)
    if wait:
        link.send(data)
    else:
        link.try_send(data)
    return rid


def join_flood(link, cluster, count, prefix="flood", timeout=60.0):
    """`count` JoinRequests with distinct names, as fast as the socket takes them; returns how
    many were queued and the seconds it took."""
    start = time.monotonic()
    incarnation = int(time.time() * 1e6)
    sent = 0
    for i in range(count):
        link.send(wire.join_request(cluster, request_id(), f"{prefix}-{i}", incarnation), timeout=timeout)
        sent += 1
    return sent, time.monotonic() - start


def big_join(cluster, size):
    """A well-formed JoinRequest envelope of about `size` bytes (the name is the bulk)."""
    return wire.join_request(cluster, request_id(), b"x" * size, int(time.time() * 1e6))


# Names that a join must refuse (the contract: valid UTF-8, no control characters, 1..255 bytes),
# each with a word the refusal's reason should contain.
INVALID_NAMES = [
    ("invalid UTF-8", b"bad-\xff\xfe-name", "utf-8"),
    ("a lone continuation byte", b"cont\x80", "utf-8"),
    ("an ANSI escape", b"\x1b[31mred\x1b[0m", "control"),
    ("a newline", b"two\nlines", "control"),
    ("a C1 control", "c1-\u009b-csi".encode(), "control"),
    ("256 bytes", b"n" * 256, "255"),
]


# ---- what changed --------------------------------------------------------------------------

class Observer:
    """Reads the voters' status and views directly over the wire (the harness's reader key in a
    secured cluster), and their /metrics."""

    def __init__(self, cluster):
        self.c = cluster
        self._links = {}

    def close(self):
        for link in self._links.values():
            link.close()
        self._links.clear()

    def _link(self, node):
        link = self._links.get(node.name)
        if link is None:
            link = Link(node.listen, self.c.client_key, self.c.server_key(node))
            self._links[node.name] = link
        return link

    def _ask(self, node, make, kind, timeout):
        rid = request_id()
        try:
            return self._link(node).request(make(rid), kind, rid, timeout)
        except AssertionError:
            # No answer: start afresh next time (a reply that comes late must not be taken
            # for the answer to a later question).
            self._links.pop(node.name).close()
            raise

    def status(self, node, timeout=1.0):
        return self._ask(node, lambda rid: wire.status_request(self.c.cluster, rid), "StatusReply", timeout)

    def view(self, node, timeout=1.0):
        """{"view_id", "leader_id", "members": {id: {"name" (bytes), "incarnation", ...}}}"""
        return self._ask(node, lambda rid: wire.sync_request(self.c.cluster, rid, 0, True), "SyncReply",
                         timeout)["full"]

    def member(self, node, name):
        """The member entry called `name` in node's view (None if there is none)."""
        name = name.encode() if isinstance(name, str) else name
        return next((m for m in self.view(node)["members"].values() if m["name"] == name), None)

    def leader(self):
        """The voter that says it is the leader, if exactly one does."""
        leaders = []
        for v in self.c.voter_nodes:
            try:
                if v.alive() and self.status(v, timeout=0.5)["role"] == wire.LEADER_ROLE:
                    leaders.append(v)
            except AssertionError:
                pass
        return leaders[0] if len(leaders) == 1 else None

    def snapshot(self):
        """What 'nothing changed' compares: per voter, whether it runs, its term, the leader it
        knows, its view's id and members (id -> name, incarnation); and which members run."""
        out = {"running members": sorted(name for name, n in self.c.members.items() if n.alive())}
        for v in self.c.voter_nodes:
            if not v.alive():
                out[v.name] = {"alive": False}
                continue
            st, view = self.status(v), self.view(v)
            out[v.name] = {"alive": True, "term": st["term"], "leader": st["leader_voter_id"],
                           "view_id": view["view_id"],
                           "members": {i: (m["name"], m["incarnation"]) for i, m in view["members"].items()}}
        return out

    def differences(self, before, after=None):
        """How `after` (default: now) differs from `before`, in words; empty if it does not."""
        try:
            after = after or self.snapshot()
        except AssertionError as e:
            return [f"a voter did not answer: {e}"]
        out = []
        stopped = set(before["running members"]) - set(after["running members"])
        if stopped:
            out.append(f"members exited: {sorted(stopped)}")
        for name, b in before.items():
            if name == "running members":
                continue
            a = after.get(name, {"alive": False})
            if not a["alive"]:
                if b["alive"]:
                    died = next(v for v in self.c.voter_nodes if v.name == name)
                    out.append(f"{name} exited ({describe_exit(died.proc.returncode)})")
                continue
            for field in ("term", "leader", "view_id"):
                if field == "leader" and a["leader"] == 0 and a["term"] == b["term"]:
                    # A follower that missed its leader for an election timeout (a loaded machine)
                    # knows no leader while its pre-vote runs, which moves no term and changes
                    # nothing; an attack that disrupts leadership moves the term or names another.
                    continue
                if a[field] != b[field]:
                    out.append(f"{name}: {field} {b[field]} -> {a[field]}")
            added = set(a["members"]) - set(b["members"])
            gone = set(b["members"]) - set(a["members"])
            if added:
                out.append(f"{name}: members added {sorted(a['members'][i][0][:40] for i in added)[:5]}"
                           f"{' ...' if len(added) > 5 else ''} ({len(added)})")
            if gone:
                out.append(f"{name}: members removed {sorted(b['members'][i][0] for i in gone)}")
        return out


def describe_exit(code):
    if code is None:
        return "running"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


_LABELS = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def counter(node, name, timeout=2, **labels):
    """The sum of the samples of metric `name` at node whose labels include `labels`."""
    text = scrape(node.metrics, timeout=timeout)
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, rest = head.partition("{")
        if metric != name:
            continue
        have = dict(_LABELS.findall(rest))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


def dropped(node, socket, reason):
    """roster_messages_dropped_total{socket=socket, reason=reason} at node."""
    return counter(node, "roster_messages_dropped_total", socket=socket, reason=reason)


def handshakes_failed(node, socket, reason):
    """roster_handshakes_failed_total{socket=socket, reason=reason} at node."""
    return counter(node, "roster_handshakes_failed_total", socket=socket, reason=reason)


def wait_counter_above(node, socket, reason, base, what, timeout=5.0, by=1,
                       metric="roster_messages_dropped_total"):
    """Waits until metric{socket, reason} (a count of refusals) at node is at least base + by."""
    return wait_for(f"{metric}{{socket=\"{socket}\",reason=\"{reason}\"}} at {node.name} "
                    f"to rise above {base:g} ({what})",
                    lambda: (lambda n: n if n >= base + by else None)(
                        counter(node, metric, socket=socket, reason=reason)), timeout)
