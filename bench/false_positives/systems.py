"""The systems under test, behind one small interface, so that others can be added.

A System is created for one setting in one topology; the harness (false_positives.py) then calls

    start_servers()                  the fixed servers (voters / ensemble / cluster) on the server hosts
    wait_servers(timeout)            until they serve
    start_watcher(host) -> Watcher   an observer of the membership on that host
    start_member(host, name) -> obj  a member process on that host; the harness uses its kill9(),
                                     killed_at (monotonic time of the kill), alive(), log_path
    member_names()                   names the watchers show for everything started (servers included
                                     if they are members too)
    counters()                       optional system-side counters (dict of numbers), read before and
                                     after the soak; e.g. roster's voters' Prometheus counters
    notes()                          optional facts for the results (dict), e.g. the TTL etcd granted
    stop()                           kill -9 of everything it started

A Watcher reports, as seen by one observer: `ready()` (connected and showing what it must),
`present()` (the set of member names in its latest view) and `removals()` (a list of Removal(t, name, reason, key), t in time.monotonic() of when
the line arrived, key a value that identifies the removal across watchers, e.g. (view id,
member id)). The harness decides which removals are false: a removal of a member whose process
the harness had not killed at that time.

Settings are system-specific: `parse_settings(text)` turns the --settings flag into a list of
dicts, `label(setting)` names one for tables and plots, `columns` are the setting's keys shown
in the table.
"""

import collections
import json
import os
import shlex
import signal
import sys
import threading
import time

from topology import netns  # (importing topology puts the kit, tests/pylib, on sys.path)
from rosterkit.metrics import total as _metric
from rosterkit.procs import Proc
from rosterkit.waiting import wait_for

Removal = collections.namedtuple("Removal", "t name reason key")


class NsProc(Proc):
    """A process started inside a namespace with `ip netns exec` (which execs: the pid is the
    program's own): a kit Proc with a name and the time of the harness's kill -9."""

    def __init__(self, name, cmd, log_path, capture=False, parse=None):
        self.name = name
        self.killed_at = None  # time.monotonic() of the harness's kill -9
        super().__init__(cmd, log_path=log_path, capture=capture, parse=parse)

    def kill9(self):
        if self.alive():
            self.killed_at = time.monotonic()
            self.signal(signal.SIGKILL)

    def reap(self):
        self.kill()


class System:
    name = "abstract"
    columns = []             # keys of a setting shown in the table
    servers_word = "servers"
    counter_column = (None, "—")  # (key of counters(), title): the table's column of soak counters

    @staticmethod
    def default_settings():
        raise NotImplementedError

    @staticmethod
    def parse_settings(text):
        raise NotImplementedError

    @staticmethod
    def label(setting):
        raise NotImplementedError

    def __init__(self, topology, server_hosts, setting, workdir, args):
        self.topo, self.server_hosts, self.setting, self.workdir, self.args = \
            topology, server_hosts, setting, workdir, args

    def start_servers(self):
        raise NotImplementedError

    def wait_servers(self, timeout):
        raise NotImplementedError

    def start_watcher(self, host):
        raise NotImplementedError

    def start_member(self, host, name):
        raise NotImplementedError

    def member_names(self):
        raise NotImplementedError

    def counters(self):
        return {}

    def notes(self):
        return {}

    def stop(self):
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# roster
# ---------------------------------------------------------------------------------------------

LISTEN, PEER, PUBLISH, METRICS = 7400, 7401, 7402, 7403


class RosterWatcher:
    """`rosterctl watch --json` inside a namespace; views parsed as they arrive."""

    def __init__(self, system, host, endpoints):
        self.host = host
        cmd = host.prefix + [system.ctl, "--endpoint", ",".join(endpoints), "--cluster", system.cluster,
                             "watch", "--json"]
        self._lock = threading.Lock()
        self._names = {}        # member id -> name, over every view seen
        self._present = set()
        self._removals = []
        self.views = 0
        self.resyncs = 0
        self._expect = {h.name for h in system.server_hosts}
        self.proc = NsProc(f"watch-{host.name}", cmd, os.path.join(system.workdir, f"watch-{host.name}.err"),
                           capture=True, parse=self._line)

    def _line(self, line):
        """Called by the reader thread for each line of `rosterctl watch --json` (keeps nothing)."""
        t = time.monotonic()
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        if "event" not in obj:
            with self._lock:
                self.views += 1
                current = {m["id"]: m["name"] for m in obj["members"]}
                if obj.get("resync"):
                    # A whole view after falling behind: what disappeared is all we can tell.
                    self.resyncs += 1
                    listed = {self._names.get(r["id"]) for r in obj.get("removed", [])}
                    for name in sorted(self._present - set(current.values()) - listed):
                        self._removals.append(Removal(t, name, "resync", ("resync", obj["view_id"], name)))
                for r in obj.get("removed", []):
                    name = self._names.get(r["id"], f"id{r['id']}")
                    self._removals.append(Removal(t, name, r["reason"], (obj["view_id"], r["id"])))
                self._names.update(current)
                self._present = set(current.values())

    def present(self):
        with self._lock:
            return set(self._present)

    def ready(self):
        """Connected: a first view arrived, and it holds the voters."""
        with self._lock:
            return self.views > 0 and self._expect <= self._present

    def removals(self):
        with self._lock:
            return list(self._removals)

    def alive(self):
        return self.proc.alive()

    def stop(self):
        self.proc.reap()


class Roster(System):
    name = "roster"
    columns = ["heartbeat_ms", "phi"]
    servers_word = "voters"
    counter_column = ("suspicions_raised", "suspicions raised (all voters)")

    @staticmethod
    def default_settings():
        return [{"heartbeat_ms": hb, "phi": phi} for hb in (50, 100, 200, 500) for phi in (8, 12, 16)]

    @staticmethod
    def parse_settings(text):
        """"HB:PHI,HB:PHI,..." (e.g. "50:8,100:8"), or "HBS/PHIS" for a cross product
        (e.g. "50,100,200,500/8,12,16"). HB "auto": no --heartbeat-interval-ms, rosterd's default
        interval that adapts to the cluster's size (50 ms at these sizes)."""
        def hb_of(hb):
            return hb if hb == "auto" else int(hb)
        if "/" in text:
            hbs, phis = text.split("/")
            return [{"heartbeat_ms": hb_of(hb), "phi": float(phi)} for hb in hbs.split(",") for phi in phis.split(",")]
        out = []
        for item in text.split(","):
            hb, phi = item.split(":")
            out.append({"heartbeat_ms": hb_of(hb), "phi": float(phi)})
        return out

    @staticmethod
    def label(setting):
        hb = setting["heartbeat_ms"]
        return f"{'adaptive' if hb == 'auto' else str(hb) + ' ms'} / phi {setting['phi']:g}"

    def __init__(self, topology, server_hosts, setting, workdir, args):
        super().__init__(topology, server_hosts, setting, workdir, args)
        self.bin = args.bin
        self.ctl = os.path.join(self.bin, "rosterctl")
        self.cluster = "rfp"
        self.voters = []
        self.members = {}
        self.watchers = []
        self.voter_spec = ",".join(f"{i + 1}@{h.ip}:{PEER}" for i, h in enumerate(server_hosts))
        self.join = ",".join(f"{h.ip}:{LISTEN}" for h in server_hosts)

    def _common(self, host, name):
        return ["--name", name, "--cluster", self.cluster,
                "--listen", f"{host.ip}:{LISTEN}", "--publish", f"{host.ip}:{PUBLISH}",
                "--metrics-listen", f"{host.ip}:{METRICS}",
                *([] if self.setting["heartbeat_ms"] == "auto" else
                  ["--heartbeat-interval-ms", str(self.setting["heartbeat_ms"])]),
                "--phi-threshold", f"{self.setting['phi']:g}", "--log-level", self.args.log_level,
                # Plaintext, as in the results so far (the namespaces hold nothing else); since
                # issue 13 a plaintext node binds a non-loopback address only when told so.
                "--insecure"] + \
            shlex.split(self.args.rosterd_args)

    def start_servers(self):
        for i, h in enumerate(self.server_hosts):
            data = os.path.join(self.workdir, f"data-{h.name}")
            os.makedirs(data, exist_ok=True)
            cmd = h.prefix + [os.path.join(self.bin, "rosterd")] + self._common(h, h.name) + [
                "--voter-id", str(i + 1), "--voters", self.voter_spec, "--data-dir", data,
                "--peer-listen", f"{h.ip}:{PEER}"]
            self.voters.append(NsProc(h.name, cmd, os.path.join(self.workdir, f"{h.name}.log")))

    def ctl_json(self, host, *args, timeout_ms=2000):
        r = netns.run(host.prefix + [self.ctl, "--endpoint", f"{host.ip}:{LISTEN}", "--cluster", self.cluster,
                               "--timeout", str(timeout_ms)] + list(args) + ["--json"],
                check=False, timeout=timeout_ms / 1000 + 10)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip())
        return json.loads(r.stdout)

    def wait_servers(self, timeout):
        def ready():
            for v in self.voters:
                if not v.alive():
                    raise RuntimeError(f"voter {v.name} exited; see {v.log_path}")
            leaders = [self.ctl_json(h, "status")["leader_voter_id"] for h in self.server_hosts]
            return all(l != 0 and l == leaders[0] for l in leaders)
        wait_for("the voters to agree on a consensus leader", ready, timeout, 0.2)

    def start_watcher(self, host):
        # The voter on the same host first (over its loopback), the others for failover.
        endpoints = [f"{host.ip}:{LISTEN}"] + [f"{h.ip}:{LISTEN}" for h in self.server_hosts if h is not host]
        w = RosterWatcher(self, host, endpoints)
        self.watchers.append(w)
        return w

    def start_member(self, host, name):
        cmd = host.prefix + [os.path.join(self.bin, "rosterd")] + self._common(host, name) + ["--join", self.join]
        p = NsProc(name, cmd, os.path.join(self.workdir, f"{name}.log"))
        self.members[name] = p
        return p

    def member_names(self):
        # Voters are members of the views too.
        return [h.name for h in self.server_hosts] + list(self.members)

    def counters(self):
        """From every voter's /metrics: suspicions raised (summed over voters: each is one voter's
        detector crossing the threshold) and removals as suspected (the max over voters: each
        voter counts each committed removal once)."""
        out = {"suspicions_raised": 0.0, "removed_suspected": 0.0, "voters_scraped": 0}
        per_voter = []
        for h in self.server_hosts:
            r = netns.run(h.prefix + ["curl", "-s", "--max-time", "3", f"http://{h.ip}:{METRICS}/metrics"],
                    check=False, timeout=15)
            if r.returncode != 0:
                continue
            out["voters_scraped"] += 1
            sus = _metric(r.stdout, "roster_suspicions_raised_total")
            rem = _metric(r.stdout, "roster_view_changes_total", 'reason="suspected"')
            out["suspicions_raised"] += sus or 0.0
            per_voter.append(rem or 0.0)
        out["removed_suspected"] = max(per_voter) if per_voter else None
        return out

    def stop(self):
        for w in self.watchers:
            w.stop()
        for p in list(self.members.values()) + self.voters:
            p.reap()


# ---------------------------------------------------------------------------------------------
# ZooKeeper and etcd, through bench/peers/peerlib.py (servers, member and watcher processes that
# take an IP and a command prefix; written for bench/peers, used here as it is)
# ---------------------------------------------------------------------------------------------

PEERS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "peers")


def _peerlib():
    if PEERS_DIR not in sys.path:
        sys.path.insert(0, PEERS_DIR)
    import peerlib
    return peerlib


class PeerWatcher:
    """A peerlib.Watcher (one line '<monotonic> <json names>' per change of the member set)."""

    def __init__(self, w):
        self.w = w

    def _lines(self):
        return self.w.snapshot()

    def ready(self):
        return bool(self._lines())

    def present(self):
        lines = self._lines()
        return set(lines[-1][1]) if lines else set()

    def removals(self):
        # The k-th disappearance of a name is one event, whichever watcher saw it.
        out, count, prev = [], collections.Counter(), None
        for t, names in self._lines():
            if prev is not None:
                for name in sorted(prev - names):
                    count[name] += 1
                    out.append(Removal(t, name, "expired", (name, count[name])))
            prev = names
        return out

    def alive(self):
        return self.w.alive()

    def stop(self):
        self.w.kill()


class PeerMember:
    """One member name: a peerlib.Member process, started again (same name) when its session or
    lease is lost while it runs, as a roster member rejoins after a false removal."""

    def __init__(self, system, host, name, k):
        self.system, self.host, self.name = system, host, name
        eps = system.cluster.endpoints
        self.endpoints = eps[k % len(eps):] + eps[:k % len(eps)]  # spread over the servers
        self.killed_at = None
        self.lost = self.crashed = 0
        self._start()

    def _start(self):
        pl = _peerlib()
        self.m = pl.Member(self.system.kind, self.endpoints, self.name, self.system.setting["timeout_ms"],
                           self.host.prefix, self.system.logs)
        self.log_path = self.m.log_path

    def check(self):
        """Called by the supervisor: restart after a loss (or a crash of the client)."""
        if self.killed_at is None and not self.m.alive():
            if self.m.lost():
                self.lost += 1
            else:
                self.crashed += 1
            self.m.kill()
            self._start()

    def alive(self):
        return self.killed_at is None

    def kill9(self):
        self.killed_at = time.monotonic()
        self.m.kill()  # SIGKILL of its process group, then reaped

    def reap(self):
        self.killed_at = self.killed_at or time.monotonic()
        self.m.kill()


class _PeerSystem(System):
    kind = None
    base_port = None
    counter_column = ("sessions_lost", "sessions lost (member side)")

    def __init__(self, topology, server_hosts, setting, workdir, args):
        super().__init__(topology, server_hosts, setting, workdir, args)
        if len(server_hosts) != 3:
            raise ValueError(f"{self.name} runs 3 servers (--voters 3)")
        self.logs = os.path.join(workdir, "clients")
        self.cluster = None
        self.members = {}
        self.watchers = []
        self._stop = threading.Event()
        self._supervisor = None
        self._notes = {}

    def _make_cluster(self, pl):
        raise NotImplementedError

    def start_servers(self):
        pl = _peerlib()
        self.cluster = self._make_cluster(pl)
        self.cluster.start()

    def wait_servers(self, timeout):
        self.cluster.wait_ready(timeout)

    def start_watcher(self, host):
        pl = _peerlib()
        i = self.server_hosts.index(host)
        kw = {"session_ms": 10000} if self.kind == "zookeeper" else {}
        w = PeerWatcher(pl.Watcher(self.kind, self.cluster.endpoint(i), host.prefix, self.logs,
                                   f"watcher-{host.name}", **kw))
        self.watchers.append(w)
        return w

    def start_member(self, host, name):
        m = PeerMember(self, host, name, len(self.members))
        self.members[name] = m
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, daemon=True)
            self._supervisor.start()
        return m

    def _supervise(self):
        while not self._stop.wait(0.05):
            for m in list(self.members.values()):
                try:
                    m.check()
                except Exception as e:  # a restart that failed: try again next round
                    self._notes.setdefault("restart_errors", []).append(str(e)[:200])

    def member_names(self):
        return list(self.members)

    def counters(self):
        return {"sessions_lost": float(sum(m.lost for m in self.members.values())),
                "client_crashes": float(sum(m.crashed for m in self.members.values()))}

    def notes(self):
        return dict(self._notes)

    def stop(self):
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(5)
        for w in self.watchers:
            w.stop()
        for m in self.members.values():
            m.reap()
        if self.cluster is not None:
            self.cluster.stop()


class ZooKeeper(_PeerSystem):
    """3-server ensemble (tickTime 100 ms, so sessions down to 200 ms are allowed); each member a
    kazoo client holding an ephemeral znode in a session of the setting's timeout; watchers
    watch the children. Setting: the session timeout in ms."""
    name = "zookeeper"
    kind = "zookeeper"
    columns = ["session_ms"]
    base_port = 2181
    TICK_MS = 100

    @staticmethod
    def default_settings():
        return ZooKeeper.parse_settings("200,500,1000,2000,5000")

    @staticmethod
    def parse_settings(text):
        return [{"session_ms": int(x), "timeout_ms": int(x), "tick_ms": ZooKeeper.TICK_MS} for x in text.split(",")]

    @staticmethod
    def label(setting):
        return f"session {setting['session_ms']} ms"

    def _make_cluster(self, pl):
        return pl.ZooKeeperEnsemble(os.path.join(self.workdir, "servers"), [h.ip for h in self.server_hosts],
                                    self.setting["tick_ms"], [h.prefix for h in self.server_hosts],
                                    base_port=self.base_port)


class Etcd(_PeerSystem):
    """3-member etcd cluster (heartbeat 100 ms, election 1000 ms: etcd's defaults, which suit the
    impaired links; the smallest lease etcd then grants is 2 s); each member a process holding a
    key under a lease of the setting's TTL, kept alive every TTL/3; watchers watch the prefix.
    Setting: the lease TTL in s."""
    name = "etcd"
    kind = "etcd"
    columns = ["ttl_s", "heartbeat_ms", "election_ms"]
    base_port = 2379
    HEARTBEAT_MS, ELECTION_MS = 100, 1000

    @staticmethod
    def default_settings():
        return Etcd.parse_settings("2,3,5,10")

    @staticmethod
    def parse_settings(text):
        """TTLs in s, each optionally with the cluster's timers: "2,3" or "1@50/500" (TTL 1 s on a
        cluster with heartbeat 50 ms and election 500 ms, where etcd grants 1 s leases)."""
        out = []
        for x in text.split(","):
            ttl, _, timers = x.partition("@")
            hb, el = (int(t) for t in timers.split("/")) if timers else (Etcd.HEARTBEAT_MS, Etcd.ELECTION_MS)
            out.append({"ttl_s": int(ttl), "timeout_ms": int(ttl) * 1000, "heartbeat_ms": hb, "election_ms": el})
        return out

    @staticmethod
    def label(setting):
        if (setting["heartbeat_ms"], setting["election_ms"]) == (Etcd.HEARTBEAT_MS, Etcd.ELECTION_MS):
            return f"TTL {setting['ttl_s']} s"
        return f"TTL {setting['ttl_s']} s (hb {setting['heartbeat_ms']}/el {setting['election_ms']} ms)"

    def _make_cluster(self, pl):
        return pl.EtcdCluster(os.path.join(self.workdir, "servers"), [h.ip for h in self.server_hosts],
                              self.setting["heartbeat_ms"], self.setting["election_ms"],
                              [h.prefix for h in self.server_hosts], base_port=self.base_port)

    def wait_servers(self, timeout):
        super().wait_servers(timeout)
        # etcd raises a TTL below its minimum instead of refusing it: say what it granted.
        granted = self.cluster.granted_ttl(self.setting["ttl_s"])
        self._notes["granted_ttl_s"] = granted
        if granted != self.setting["ttl_s"]:
            self._notes["warning"] = f"etcd granted TTL {granted} s for {self.setting['ttl_s']} s"


# ---------------------------------------------------------------------------------------------
# Serf: an agent on every host (no servers), through bench/peers/serflib.py and serf_watcher.py
# ---------------------------------------------------------------------------------------------

def _serflib():
    if PEERS_DIR not in sys.path:
        sys.path.insert(0, PEERS_DIR)
    import serflib
    return serflib


class SerfWatcher(PeerWatcher):
    """serf_watcher.py on the agent of the watcher's host: one line per delivered member event."""

    def _lines(self):
        return self.w.sets()


class Serf(System):
    """An agent on each of the 3 "server" hosts (they are members like any other; the watchers
    read them) and on each member host, joining the first three. Serf exposes its failure
    detector's timing only as a profile: lan (its default: probe every 1 s, 500 ms probe timeout,
    suspicion multiplier 4) and local (the fastest: 1 s, 200 ms, 3); wan is slower.

    Gossip decides without consensus, so a poller asks every live agent for its alive set
    (`serf members -status alive`, all agents at once, every POLL_S) and records the windows in
    which the agents disagreed: counters() gives the number of windows so far and notes() the
    longest one during the soak (between the harness's two counters() calls) and overall."""
    name = "serf"
    columns = ["profile"]
    servers_word = "seed agents"
    counter_column = ("disagreements", "disagreement windows (all agents polled)")
    PORT, RPC = 7946, "127.0.0.1:7373"
    POLL_S = 1.0

    @staticmethod
    def default_settings():
        return Serf.parse_settings("lan,local")

    @staticmethod
    def parse_settings(text):
        out = []
        for p in text.split(","):
            if p not in ("lan", "wan", "local"):
                raise ValueError(f"serf profile {p!r}: lan, wan or local")
            out.append({"profile": p})
        return out

    @staticmethod
    def label(setting):
        return f"profile {setting['profile']}"

    def __init__(self, topology, server_hosts, setting, workdir, args):
        super().__init__(topology, server_hosts, setting, workdir, args)
        self.sl = _serflib()
        self.agents = {}     # name -> (host, NsProc)
        self.watchers = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poller = None
        self._windows = []   # [start, end or None, names disputed]
        self._soak = []      # the times of the harness's counters() calls
        self._polls = self._poll_errors = 0

    def _start_agent(self, host, join):
        argv = self.sl.agent_argv(host.name, f"{host.ip}:{self.PORT}", self.RPC, self.setting["profile"],
                                  [f"{h.ip}:{self.PORT}" for h in join], retry=True)
        p = NsProc(host.name, host.prefix + argv, os.path.join(self.workdir, f"{host.name}.log"))
        self.agents[host.name] = (host, p)
        return p

    def start_servers(self):
        for i, h in enumerate(self.server_hosts):
            p = self._start_agent(h, self.server_hosts[:i])
            self.sl.wait_rpc(p, self.RPC, h.prefix)

    def wait_servers(self, timeout):
        def ready():
            for h, p in self.agents.values():
                if not p.alive():
                    raise RuntimeError(f"serf agent {h.name} exited; see {p.log_path}")
            return all(self._alive_set(h) == {x.name for x in self.server_hosts} for h in self.server_hosts)
        wait_for("the seed agents to see each other", ready, timeout, 0.2)
        self._poller = threading.Thread(target=self._poll, daemon=True)
        self._poller.start()

    def _alive_set(self, host):
        r = netns.run(host.prefix + [self.sl.SERF, "members", "-rpc-addr", self.RPC, "-status", "alive",
                                     "-format", "json"], check=False, timeout=10)
        if r.returncode != 0:
            return None
        return {m["name"] for m in json.loads(r.stdout)["members"]}

    def start_watcher(self, host):
        w = SerfWatcher(self.sl.Watcher(self.RPC, host.prefix, os.path.join(self.workdir, "clients"),
                                        f"watcher-{host.name}"))
        self.watchers.append(w)
        return w

    def start_member(self, host, name):
        return self._start_agent(host, self.server_hosts)

    def member_names(self):
        return list(self.agents)

    def _poll(self):
        """Every POLL_S: all live agents' alive sets, asked at once; a window of disagreement
        opens at the first poll whose answers differ and closes at the first where they agree."""
        import subprocess
        while not self._stop.wait(self.POLL_S):
            live = [(h, p) for h, p in self.agents.values() if p.killed_at is None and p.alive()]
            t = time.monotonic()
            procs = [subprocess.Popen(h.prefix + [self.sl.SERF, "members", "-rpc-addr", self.RPC, "-status",
                                                  "alive", "-format", "json"],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                     for h, _ in live]
            views = []
            for q in procs:
                try:
                    out, _ = q.communicate(timeout=10)
                    if q.returncode == 0:
                        views.append(frozenset(m["name"] for m in json.loads(out)["members"]))
                except (subprocess.TimeoutExpired, ValueError, KeyError):
                    q.kill()
                    q.communicate()
            with self._lock:
                self._polls += 1
                self._poll_errors += len(live) - len(views)
                if not views:
                    continue
                differ = len(set(views)) > 1
                open_w = self._windows[-1] if self._windows and self._windows[-1][1] is None else None
                if differ:
                    disputed = set().union(*views) - frozenset.intersection(*views)
                    if open_w is None:
                        self._windows.append([t, None, set(disputed)])
                    else:
                        open_w[2] |= disputed
                elif open_w is not None:
                    open_w[1] = t

    def _closed(self, now):
        return [(s, e if e is not None else now, names) for s, e, names in self._windows]

    def counters(self):
        now = time.monotonic()
        with self._lock:
            self._soak.append(now)
            suspicions = 0
            for h, p in self.agents.values():
                try:
                    with open(p.log_path, errors="replace") as f:
                        suspicions += sum(1 for line in f if "memberlist: Suspect " in line)
                except OSError:
                    pass
            return {"disagreements": float(len(self._windows)), "suspicions_logged": float(suspicions)}

    def notes(self):
        now = time.monotonic()
        with self._lock:
            ws = self._closed(now)
            out = {"polls": self._polls, "poll_errors": self._poll_errors, "poll_interval_s": self.POLL_S,
                   "disagreement_windows": [{"start": round(s, 3), "s": round(e - s, 3), "names": sorted(n)}
                                            for s, e, n in ws]}
            longest = max((e - s for s, e, _ in ws), default=0.0)
            out["disagreement_longest_s"] = round(longest, 2)
            if len(self._soak) >= 2:
                # Windows that opened during the soak (as the counter counts them); one still
                # open from the formation is reported apart.
                t0, t1 = self._soak[0], self._soak[1]
                soak = [(s, e) for s, e, _ in ws if t0 <= s < t1]
                out["disagreement_soak_windows"] = len(soak)
                out["disagreement_soak_longest_s"] = round(max((e - s for s, e in soak), default=0.0), 2)
                out["disagreement_from_formation_into_soak_s"] = round(
                    max((min(e, t1) - t0 for s, e, _ in ws if s < t0 < e), default=0.0), 2)
                out["soak_marks"] = [round(t0, 3), round(t1, 3)]
            out["note"] = (f"agents disagreed: soak {out.get('disagreement_soak_windows', '?')} windows, longest "
                           f"{out.get('disagreement_soak_longest_s', '?')} s; whole run longest {longest:.1f} s "
                           f"(polled every {self.POLL_S:g} s)")
            return out

    def stop(self):
        self._stop.set()
        if self._poller is not None:
            self._poller.join(15)
        for w in self.watchers:
            w.stop()
        for _, p in self.agents.values():
            p.reap()


SYSTEMS = {"roster": Roster, "zookeeper": ZooKeeper, "etcd": Etcd, "serf": Serf}
