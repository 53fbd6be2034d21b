"""The systems under test, behind one small interface, so that others can be added.

A System is created for one setting in one topology; the harness (false_positives.py) then calls

    start_servers()                  the fixed servers (voters / ensemble / cluster) on the server hosts
    wait_servers(timeout)            until they serve
    start_watcher(host) -> Watcher   an observer of the membership on that host
    start_member(host, name) -> Proc a member process on that host (its pid is what kill -9 gets)
    member_names()                   names the watchers show for everything started (servers included
                                     if they are members too)
    counters()                       optional system-side counters (dict of numbers), read before and
                                     after the soak; e.g. roster's voters' Prometheus counters
    stop()                           kill -9 of everything it started

A Watcher reports, as seen by one observer: `present()` (the set of member names in its latest
view) and `removals()` (a list of Removal(t, name, reason, key), t in time.monotonic() of when
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
import re
import signal
import subprocess
import threading
import time

from topology import wait_for, run

Removal = collections.namedtuple("Removal", "t name reason key")


class Proc:
    """A process started inside a namespace with `ip netns exec` (which execs: the pid is the
    program's own)."""

    def __init__(self, name, cmd, log_path, stdout=None):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.popen = subprocess.Popen(cmd, stdout=stdout if stdout is not None else self.log,
                                      stderr=self.log, start_new_session=True)
        self.killed_at = None  # time.monotonic() of the harness's kill -9

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def kill9(self):
        if self.alive():
            self.killed_at = time.monotonic()
            self.popen.send_signal(signal.SIGKILL)

    def reap(self, timeout=10):
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()


class System:
    name = "abstract"
    columns = []

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
        self.proc = Proc(f"watch-{host.name}", cmd, os.path.join(system.workdir, f"watch-{host.name}.err"),
                         stdout=subprocess.PIPE)
        self._lock = threading.Lock()
        self._names = {}        # member id -> name, over every view seen
        self._present = set()
        self._removals = []
        self.views = 0
        self.resyncs = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.popen.stdout:
            t = time.monotonic()
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if "event" in obj:
                continue
            with self._lock:
                self.views += 1
                current = {m["id"]: m["name"] for m in obj["members"]}
                if obj.get("resync"):
                    # A whole view after falling behind: what disappeared is all we can tell.
                    self.resyncs += 1
                    for mid in set(self._names) - set(current):
                        if self._names[mid] in self._present and mid not in current:
                            self._removals.append(Removal(t, self._names[mid], "resync", ("resync", mid)))
                for r in obj.get("removed", []):
                    name = self._names.get(r["id"], f"id{r['id']}")
                    self._removals.append(Removal(t, name, r["reason"], (obj["view_id"], r["id"])))
                self._names.update(current)
                self._present = set(current.values())

    def present(self):
        with self._lock:
            return set(self._present)

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

    @staticmethod
    def default_settings():
        return [{"heartbeat_ms": hb, "phi": phi} for hb in (50, 100, 200, 500) for phi in (8, 12, 16)]

    @staticmethod
    def parse_settings(text):
        """"HB:PHI,HB:PHI,..." (e.g. "50:8,100:8"), or "HBS/PHIS" for a cross product
        (e.g. "50,100,200,500/8,12,16")."""
        if "/" in text:
            hbs, phis = text.split("/")
            return [{"heartbeat_ms": int(hb), "phi": float(phi)} for hb in hbs.split(",") for phi in phis.split(",")]
        out = []
        for item in text.split(","):
            hb, phi = item.split(":")
            out.append({"heartbeat_ms": int(hb), "phi": float(phi)})
        return out

    @staticmethod
    def label(setting):
        return f"{setting['heartbeat_ms']} ms / phi {setting['phi']:g}"

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
                "--heartbeat-interval-ms", str(self.setting["heartbeat_ms"]),
                "--phi-threshold", f"{self.setting['phi']:g}", "--log-level", self.args.log_level]

    def start_servers(self):
        for i, h in enumerate(self.server_hosts):
            data = os.path.join(self.workdir, f"data-{h.name}")
            os.makedirs(data, exist_ok=True)
            cmd = h.prefix + [os.path.join(self.bin, "rosterd")] + self._common(h, h.name) + [
                "--voter-id", str(i + 1), "--voters", self.voter_spec, "--data-dir", data,
                "--peer-listen", f"{h.ip}:{PEER}"]
            self.voters.append(Proc(h.name, cmd, os.path.join(self.workdir, f"{h.name}.log")))

    def ctl_json(self, host, *args, timeout_ms=2000):
        r = run(host.prefix + [self.ctl, "--endpoint", f"{host.ip}:{LISTEN}", "--cluster", self.cluster,
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
        p = Proc(name, cmd, os.path.join(self.workdir, f"{name}.log"))
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
            r = run(h.prefix + ["curl", "-s", "--max-time", "3", f"http://{h.ip}:{METRICS}/metrics"],
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


def _metric(text, name, label_filter=None):
    """Sum of the samples of one metric in a Prometheus text exposition (optionally those whose
    labels contain label_filter)."""
    total, found = 0.0, False
    pattern = re.compile(r"^" + re.escape(name) + r"(\{[^}]*\})?\s+(\S+)", re.M)
    for m in pattern.finditer(text):
        labels = m.group(1) or ""
        if label_filter and label_filter not in labels:
            continue
        total += float(m.group(2))
        found = True
    return total if found else None


# ---------------------------------------------------------------------------------------------
# ZooKeeper and etcd: TO BE ADDED on top of bench/peers/peerlib.py
# ---------------------------------------------------------------------------------------------
#
# bench/peers/peerlib.py (written separately) launches ZooKeeper ensembles and etcd clusters with
# member and watcher processes, given an IP and a command prefix such as
# ["ip", "netns", "exec", "rfp-v1"] (Host.prefix here). An implementation of System for each:
#
#   class ZooKeeper(System):   settings: session timeout in ms ("2000,4000,10000")
#       start_servers:  a 3-server ensemble on server_hosts (one per host)
#       start_member:   a client process on the host that creates an ephemeral znode named after
#                       the member with the setting's session timeout, and keeps its session
#       start_watcher:  a client on the host that watches the children of the members' parent
#                       znode and reports each child deleted as Removal(t, name, "expired", key)
#   class Etcd(System):        settings: lease TTL in s ("1,2,5,10")
#       start_servers:  a 3-member etcd cluster on server_hosts
#       start_member:   a process that grants a lease with the TTL, puts a key under a prefix with
#                       it, and keeps the lease alive
#       start_watcher:  `etcdctl watch --prefix` (or peerlib's watcher): each DELETE is a Removal
#
# then add them to SYSTEMS below; the harness, topology, counting, tables and plot need no change.

SYSTEMS = {"roster": Roster}
