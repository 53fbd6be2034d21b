"""roster's wire protocol in Python (docs/protocol.md): envelopes built and read with the code
that `flatc --python wire/roster.fbs` generates (the build puts it in build/python; ROSTER_PYTHON
overrides). The integration tests use it to send exactly the bytes a client -- or an attacker --
would send, and to read replies without going through rosterctl.

Strings may be given as bytes, so that a test can send what no correct client would (invalid
UTF-8, escape sequences). Nothing here checks a value's range: that is the receiver's job.
"""

import os
import sys

import flatbuffers

from .paths import ROOT

PYTHON_WIRE = os.environ.get("ROSTER_PYTHON", os.path.join(ROOT, "build", "python"))
if PYTHON_WIRE not in sys.path:
    sys.path.insert(0, PYTHON_WIRE)

from roster.wire.fb import (AppendEntries, Body, Change, Command, Entry, Envelope, FullView,  # noqa: E402
                            Heartbeat, HeartbeatReply, InstallSnapshot, JoinOp, JoinReply, JoinRequest,
                            Leave, LeaveReply, Op, RemovalReason, RemoveReply, RemoveRequest, RequestStatus,
                            Role, Sender, StatusReply, StatusRequest, Suspicion, SuspicionReport, SyncReply,
                            SyncRequest, Tag, ViewChange)

PROTOCOL_VERSION = 1
U64_MAX = 2 ** 64 - 1
LEADER_ROLE = Role.Role.Leader
REASONS = {RemovalReason.RemovalReason.Suspected: "suspected", RemovalReason.RemovalReason.Left: "left",
           RemovalReason.RemovalReason.Replaced: "replaced",
           RemovalReason.RemovalReason.RemovedByOperator: "removed_by_operator"}
STATUS = {v: k.lower() for k, v in vars(RequestStatus.RequestStatus).items() if not k.startswith("_")}


def _string(b, s):
    return b.CreateString(s if isinstance(s, (bytes, bytearray)) else str(s).encode())


def envelope(cluster, body_type, make_body, voter=0, member=0, name="rosterkit", size_hint=256):
    """One size-prefixed Envelope ("RSTR") whose Sender claims voter/member/name."""
    b = flatbuffers.Builder(size_hint)
    body = make_body(b)
    sender_name = _string(b, name)
    Sender.Start(b)
    Sender.AddVoterId(b, voter)
    Sender.AddMemberId(b, member)
    Sender.AddName(b, sender_name)
    sender = Sender.End(b)
    cluster_off = _string(b, cluster)
    Envelope.Start(b)
    Envelope.AddProtocolVersion(b, PROTOCOL_VERSION)
    Envelope.AddCluster(b, cluster_off)
    Envelope.AddSender(b, sender)
    Envelope.AddBodyType(b, body_type)
    Envelope.AddBody(b, body)
    b.FinishSizePrefixed(Envelope.End(b), file_identifier=b"RSTR")
    return bytes(b.Output())


# ---- members and clients (listen socket) ---------------------------------------------------

def status_request(cluster, request_id, **sender):
    def body(b):
        StatusRequest.Start(b)
        StatusRequest.AddRequestId(b, request_id)
        return StatusRequest.End(b)
    return envelope(cluster, Body.Body.StatusRequest, body, **sender)


def sync_request(cluster, request_id, after=0, full=True, **sender):
    def body(b):
        SyncRequest.Start(b)
        SyncRequest.AddRequestId(b, request_id)
        SyncRequest.AddAfterViewId(b, after)
        SyncRequest.AddFull(b, full)
        return SyncRequest.End(b)
    return envelope(cluster, Body.Body.SyncRequest, body, **sender)


def _tags(b, tags, start_vector):
    offsets = []
    for key, value in tags:
        k, v = _string(b, key), _string(b, value)
        Tag.Start(b)
        Tag.AddKey(b, k)
        Tag.AddValue(b, v)
        offsets.append(Tag.End(b))
    start_vector(b, len(offsets))
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def join_request(cluster, request_id, name, incarnation, address="127.0.0.1:1", publish="127.0.0.1:2",
                 tags=(), **sender):
    def body(b):
        n, a, p = _string(b, name), _string(b, address), _string(b, publish)
        t = _tags(b, tags, JoinRequest.StartTagsVector) if tags else None
        JoinRequest.Start(b)
        JoinRequest.AddRequestId(b, request_id)
        JoinRequest.AddName(b, n)
        JoinRequest.AddAddress(b, a)
        JoinRequest.AddPublishEndpoint(b, p)
        JoinRequest.AddIncarnation(b, incarnation)
        if t is not None:
            JoinRequest.AddTags(b, t)
        return JoinRequest.End(b)
    size = len(name) + 256
    return envelope(cluster, Body.Body.JoinRequest, body, size_hint=size, **sender)


def heartbeat(cluster, member_id, incarnation, sequence, known_view_id=0, **sender):
    def body(b):
        Heartbeat.Start(b)
        Heartbeat.AddMemberId(b, member_id)
        Heartbeat.AddIncarnation(b, incarnation)
        Heartbeat.AddSequence(b, sequence)
        Heartbeat.AddKnownViewId(b, known_view_id)
        return Heartbeat.End(b)
    return envelope(cluster, Body.Body.Heartbeat, body, **sender)


def leave(cluster, request_id, member_id, incarnation, **sender):
    def body(b):
        Leave.Start(b)
        Leave.AddRequestId(b, request_id)
        Leave.AddMemberId(b, member_id)
        Leave.AddIncarnation(b, incarnation)
        return Leave.End(b)
    return envelope(cluster, Body.Body.Leave, body, **sender)


def remove_request(cluster, request_id, member_id=0, name=None, **sender):
    """An operator's RemoveRequest: by member id, or (member_id 0) by name."""
    def body(b):
        n = _string(b, name) if name is not None else None
        RemoveRequest.Start(b)
        RemoveRequest.AddRequestId(b, request_id)
        RemoveRequest.AddMemberId(b, member_id)
        if n is not None:
            RemoveRequest.AddName(b, n)
        return RemoveRequest.End(b)
    return envelope(cluster, Body.Body.RemoveRequest, body, **sender)


# ---- consensus (peer socket) ---------------------------------------------------------------

def join_command(name, incarnation, address="127.0.0.1:1", publish="127.0.0.1:2"):
    """A Raft entry payload: a Command ("RCMD", not size-prefixed) with one JoinOp."""
    b = flatbuffers.Builder(256)
    n, a, p = _string(b, name), _string(b, address), _string(b, publish)
    JoinOp.Start(b)
    JoinOp.AddName(b, n)
    JoinOp.AddAddress(b, a)
    JoinOp.AddPublishEndpoint(b, p)
    JoinOp.AddIncarnation(b, incarnation)
    op = JoinOp.End(b)
    Change.Start(b)
    Change.AddOpType(b, Op.Op.JoinOp)
    Change.AddOp(b, op)
    change = Change.End(b)
    Command.StartChangesVector(b, 1)
    b.PrependUOffsetTRelative(change)
    changes = b.EndVector()
    Command.Start(b)
    Command.AddChanges(b, changes)
    b.Finish(Command.End(b), file_identifier=b"RCMD")
    return bytes(b.Output())


def append_entries(cluster, term, prev_index, prev_term, entries=(), commit=0, **sender):
    """AppendEntries; entries: (index, term, data bytes) of Normal entries."""
    def body(b):
        offsets = []
        for index, eterm, data in entries:
            d = b.CreateByteVector(data)
            Entry.Start(b)
            Entry.AddIndex(b, index)
            Entry.AddTerm(b, eterm)
            Entry.AddKind(b, 0)
            Entry.AddData(b, d)
            offsets.append(Entry.End(b))
        AppendEntries.StartEntriesVector(b, len(offsets))
        for o in reversed(offsets):
            b.PrependUOffsetTRelative(o)
        vec = b.EndVector()
        AppendEntries.Start(b)
        AppendEntries.AddTerm(b, term)
        AppendEntries.AddPrevLogIndex(b, prev_index)
        AppendEntries.AddPrevLogTerm(b, prev_term)
        AppendEntries.AddEntries(b, vec)
        AppendEntries.AddLeaderCommit(b, commit)
        return AppendEntries.End(b)
    return envelope(cluster, Body.Body.AppendEntries, body, **sender)


def install_snapshot(cluster, term, last_index, last_term, data, **sender):
    def body(b):
        d = b.CreateByteVector(data)
        InstallSnapshot.Start(b)
        InstallSnapshot.AddTerm(b, term)
        InstallSnapshot.AddLastIncludedIndex(b, last_index)
        InstallSnapshot.AddLastIncludedTerm(b, last_term)
        InstallSnapshot.AddData(b, d)
        return InstallSnapshot.End(b)
    return envelope(cluster, Body.Body.InstallSnapshot, body, size_hint=len(data) + 256, **sender)


def suspicion_report(cluster, suspicions, full=False, **sender):
    """suspicions: (member id, incarnation, phi, suspected) tuples."""
    def body(b):
        SuspicionReport.StartSuspicionsVector(b, len(suspicions))
        for mid, inc, phi, suspected in reversed(list(suspicions)):
            Suspicion.CreateSuspicion(b, mid, inc, phi, suspected)
        vec = b.EndVector()
        SuspicionReport.Start(b)
        SuspicionReport.AddFull(b, full)
        SuspicionReport.AddSuspicions(b, vec)
        return SuspicionReport.End(b)
    return envelope(cluster, Body.Body.SuspicionReport, body, **sender)


# ---- reading -------------------------------------------------------------------------------

_KINDS = {Body.Body.JoinReply: JoinReply.JoinReply, Body.Body.LeaveReply: LeaveReply.LeaveReply,
          Body.Body.StatusReply: StatusReply.StatusReply, Body.Body.SyncReply: SyncReply.SyncReply,
          Body.Body.HeartbeatReply: HeartbeatReply.HeartbeatReply, Body.Body.ViewChange: ViewChange.ViewChange,
          Body.Body.FullView: FullView.FullView, Body.Body.RemoveReply: RemoveReply.RemoveReply}
BODY_NAMES = {v: k for k, v in vars(Body.Body).items() if not k.startswith("_")}


def decode(data):
    """(body type name, body table) of a well-formed envelope of a kind listed above; None else."""
    try:
        if len(data) < 12 or flatbuffers.util.GetSizePrefix(data, 0) != len(data) - 4:
            return None
        if not Envelope.Envelope.EnvelopeBufferHasIdentifier(data, 0, size_prefixed=True):
            return None
        env = Envelope.Envelope.GetRootAs(data, 4)
        cls = _KINDS.get(env.BodyType())
        table = env.Body()
        if cls is None or table is None:
            return None
        body = cls()
        body.Init(table.Bytes, table.Pos)
        return BODY_NAMES[env.BodyType()], body
    except Exception:  # noqa: BLE001 -- bytes from the network
        return None


def text(b):
    """A string field as text (bytes that are not UTF-8 shown escaped)."""
    return (b or b"").decode(errors="backslashreplace")


def member_dict(m):
    out = {"id": m.Id(), "name": m.Name() or b"", "incarnation": m.Incarnation(), "address": text(m.Address())}
    if hasattr(m, "KeyLength"):  # Member.key (issue 13): the member's public key, 32 bytes
        out["key"] = bytes(m.Key(i) for i in range(m.KeyLength()))
    out["tags"] = [(text(m.Tags(i).Key()), text(m.Tags(i).Value())) for i in range(m.TagsLength())]
    return out


def removals(table):
    """[(id, reason)] of a View or ViewChange: the exact reason when the table has one (issue 15),
    else the one an older reader sees."""
    n = table.RemovedLength()
    has_exact = hasattr(table, "RemovedReasonsLength") and table.RemovedReasonsLength() == n
    return [(table.Removed(i).Id(),
             REASONS.get(table.RemovedReasons(i) if has_exact and table.RemovedReasons(i) in REASONS
                         else table.Removed(i).Reason(), "?"))
            for i in range(n)]


def view_dict(v):
    """A View table as {"view_id", "leader_id", "members": {id: member}, "removed": [(id, reason)]}
    (names as bytes; removed: what changed from the view before)."""
    members = {}
    for i in range(v.MembersLength()):
        m = member_dict(v.Members(i))
        members[m["id"]] = m
    return {"view_id": v.ViewId(), "leader_id": v.LeaderId(), "fencing_token": v.FencingToken(),
            "members": members, "removed": removals(v)}


def reply_dict(kind, body):
    """The fields of a reply the tests look at."""
    if kind == "JoinReply":
        return {"request_id": body.RequestId(), "status": STATUS.get(body.Status(), body.Status()),
                "member_id": body.MemberId(), "error": text(body.Error())}
    if kind == "LeaveReply":
        return {"request_id": body.RequestId(), "status": STATUS.get(body.Status(), body.Status()),
                "error": text(body.Error())}
    if kind == "StatusReply":
        return {"request_id": body.RequestId(), "name": text(body.Name()), "role": body.Role(),
                "term": body.Term(), "commit_index": body.CommitIndex(), "view_id": body.ViewId(),
                "voter_id": body.VoterId(), "member_id": body.MemberId(),
                "leader_voter_id": body.LeaderVoterId(), "publish": text(body.PublishEndpoint()),
                "healthy": body.Healthy(), "health_reason": text(body.HealthReason()),
                "ready": body.Ready(), "ready_reason": text(body.ReadyReason())}
    if kind == "RemoveReply":
        return {"request_id": body.RequestId(), "status": STATUS.get(body.Status(), body.Status()),
                "view_id": body.ViewId(), "member_id": body.MemberId(), "error": text(body.Error())}
    if kind == "SyncReply":
        return {"request_id": body.RequestId(), "full": view_dict(body.Full()) if body.Full() else None,
                "changes": [{"view_id": body.Changes(i).ViewId(), "removed": removals(body.Changes(i))}
                            for i in range(body.ChangesLength())]}
    if kind == "HeartbeatReply":
        return {"member_id": body.MemberId(), "status": body.Status()}
    if kind == "ViewChange":
        return {"view_id": body.ViewId(), "removed": removals(body)}
    if kind == "FullView":
        return {"view_id": body.View().ViewId()}
    return {}
