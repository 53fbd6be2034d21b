"""serflib: Serf (SWIM + Lifeguard gossip, Debian's `serf`) as a peer of bench/peers.

Serf has no servers: every member runs an agent, and every agent holds its own view of who is
alive. The scenario: `n_agents` agents on 127.0.0.1 (8), the first `n_watchers` (3) are
observed through `serf monitor` (serf_watcher.py), the others are members; one member agent at
a time is killed (SIGKILL) or frozen (SIGSTOP) and the time until each watcher's agent delivers
the member-failed event (what an event handler would see) is measured, and, for reference, the
time until the agent logged "EventMemberFailed" (memberlist's verdict, before Serf's coalescing
of member events). The victim is then replaced by a fresh agent under a new name.

Serf's agent exposes its failure detector's timing only as a profile (-profile lan|wan|local):
lan is the default (probe every 1 s, 500 ms probe timeout, suspicion multiplier 4), local the
fastest (1 s, 200 ms, 3). Member events are coalesced before delivery (about 1 s of quiet)."""

import json
import os
import signal
import time
import uuid

from peerlib import PY, HERE, lines_since, random_phase, _log  # noqa: F401  (kit on sys.path)
from rosterkit.ports import allocate
from rosterkit.procs import Proc
from rosterkit.waiting import wait_for

SERF = "serf"


def _parse(line):
    """'<t> <json names>' -> ('set', t, frozenset); 'log <t> <json name>' -> ('log', t, name)."""
    try:
        if line.startswith("log "):
            _, ts, name = line.split(" ", 2)
            return "log", float(ts), json.loads(name)
        ts, _, rest = line.partition(" ")
        return "set", float(ts), frozenset(json.loads(rest))
    except ValueError:
        return None


def agent_argv(name, bind, rpc, profile, join=(), log_level="info", retry=False):
    """`serf agent` bound to bind (ip:port), RPC on rpc, joining each of `join` (ip:port): with
    -join (once, at start), or with retry, -retry-join every second until it succeeds (on lossy,
    slow links the `local` profile's 1 s TCP timeout can fail a join). The agent filters what
    `serf monitor` gets by its own log level: info has the lines serf_watcher.py reads."""
    argv = [SERF, "agent", "-node", name, "-bind", bind, "-rpc-addr", rpc, "-profile", profile,
            "-log-level", log_level]
    for j in join:
        argv += ["-retry-join" if retry else "-join", j]
    if retry and join:
        argv += ["-retry-interval", "1s"]
    return argv


class Agent(Proc):
    """One `serf agent` on ip:port with its RPC on rpc_ip:rpc_port (see agent_argv)."""

    def __init__(self, name, ip, port, rpc_ip, rpc_port, profile, join=(), prefix=None,
                 log_dir=None):
        self.name, self.bind, self.rpc = name, f"{ip}:{port}", f"{rpc_ip}:{rpc_port}"
        super().__init__(agent_argv(name, self.bind, self.rpc, profile, join), prefix,
                         _log(log_dir, f"agent-{name}"))

    def wait_rpc(self, prefix=None, timeout=30):
        wait_rpc(self, self.rpc, prefix, timeout)


def wait_rpc(proc, rpc, prefix=None, timeout=30):
    """Until `serf info` answers on rpc; proc (a kit Proc) must stay alive meanwhile."""
    import subprocess

    def up():
        if not proc.alive():
            raise RuntimeError(f"serf agent exited:\n{proc.log_tail()}")
        r = subprocess.run(list(prefix or []) + [SERF, "info", "-rpc-addr", rpc],
                           capture_output=True, timeout=10)
        return r.returncode == 0
    wait_for(f"serf agent RPC on {rpc}", up, timeout, interval=0.1)


class Watcher(Proc):
    """serf_watcher.py on one agent's RPC address."""

    def __init__(self, rpc, prefix=None, log_dir=None, name="watcher"):
        self.name = name
        super().__init__([PY, os.path.join(HERE, "serf_watcher.py"), "--rpc", rpc], prefix,
                         _log(log_dir, name), capture=True, parse=_parse)

    def sets(self):
        return [(t, s) for k, t, s in self.snapshot() if k == "set"]

    def present(self):
        s = self.sets()
        return set(s[-1][1]) if s else set()

    def failed_logs(self):
        """[(t, name)] of the agent's "EventMemberFailed" log lines."""
        return [(t, n) for k, t, n in self.snapshot() if k == "log"]

    def wait_set(self, expected, timeout):
        expected = frozenset(expected)
        return self.wait_output(lambda ls: (lambda s: s and s[-1][2] == expected)(
            [x for x in ls if x[0] == "set"]), timeout, f"{self.name} to see {sorted(expected)}")

    def wait_gone(self, name, since, timeout):
        """Timestamp of the first member-event line at/after `since` without `name`."""
        def first(ls):
            return next((t for k, t, s in ls if k == "set" and t >= since and name not in s), None)
        return self.wait_output(first, timeout, f"{self.name} to drop {name}")

    def wait_logged(self, name, since, timeout):
        def first(ls):
            return next((t for k, t, n in ls if k == "log" and t >= since and n == name), None)
        return self.wait_output(first, timeout, f"{self.name}'s agent to log {name} failed")


def detection(profile, kills, mode, workdir, n_agents=8, n_watchers=3, rng=None, log=print,
              timeout_s=60):
    """Returns (trials, spurious): trials as in peerlib.detection (latency_ms: the last of the
    watchers, first_ms, per_watcher_ms) plus log_ms / log_first_ms / per_watcher_log_ms (the
    agents' "EventMemberFailed" log lines); spurious: member-failed log lines, at any watcher's
    agent, of an agent the harness had not signalled."""
    import random
    rng = rng or random.Random()
    sig = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}[mode]
    logs = os.path.join(workdir, f"serf-{profile}-{mode}")
    tag = uuid.uuid4().hex[:6]
    counter = iter(range(10**9))
    agents, watchers, results = [], [], []
    signalled = set()

    def new_agent():
        port, rpc = allocate(2)
        join = [a.bind for a in agents[:3]]
        a = Agent(f"{tag}-{next(counter)}", "127.0.0.1", port, "127.0.0.1", rpc, profile, join,
                  log_dir=logs)
        a.wait_rpc()
        agents.append(a)
        return a

    def spurious():
        return len({n for w in watchers for _, n in w.failed_logs() if n not in signalled})

    try:
        for _ in range(n_agents):
            new_agent()
        for i in range(n_watchers):
            watchers.append(Watcher(agents[i].rpc, log_dir=logs, name=f"watcher{i}"))
        members = agents[n_watchers:]
        for trial in range(kills):
            expected = {a.name for a in agents}
            for w in watchers:
                w.wait_set(expected, timeout_s)
            victim = members.pop(0)            # the oldest
            random_phase(rng)
            t0 = time.monotonic()
            signalled.add(victim.name)
            victim.signal(sig)
            seen = [w.wait_gone(victim.name, t0, timeout_s) for w in watchers]
            logged = [w.wait_logged(victim.name, t0, 5) for w in watchers]
            per = [(t - t0) * 1000.0 for t in seen]
            per_log = [(t - t0) * 1000.0 for t in logged]
            results.append({"latency_ms": max(per), "first_ms": min(per), "per_watcher_ms": per,
                            "log_ms": max(per_log), "log_first_ms": min(per_log),
                            "per_watcher_log_ms": per_log})
            log(f"  serf profile={profile} {mode} #{trial + 1}: {max(per):.0f} ms (first watcher "
                f"{min(per):.0f} ms; \"failed\" logged {min(per_log):.0f}-{max(per_log):.0f} ms)")
            victim.kill()
            agents.remove(victim)
            members.append(new_agent())
        return results, spurious()
    finally:
        for p in watchers + agents:
            p.kill()
