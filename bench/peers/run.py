#!/usr/bin/python3
"""How fast do ZooKeeper, etcd and Serf notice a dead client, and how fast do
ZooKeeper and etcd take writes again after losing their leader?  3-server
clusters (Serf: 8 agents) on 127.0.0.1; see README.md.  Run with Debian's /usr/bin/python3."""

import argparse
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
import peerlib  # noqa: E402
import serflib  # noqa: E402
from rosterkit.machine import loadavg, machine  # noqa: E402
from rosterkit.procs import kill_all, kill_on_signals  # noqa: E402
from rosterkit.stats import summary  # noqa: E402


def load_bench(name):
    """bench/<name>/run.py as a module (roster's side of the comparison)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", name, "run.py")
    spec = importlib.util.spec_from_file_location(f"roster_bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def sh(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def versions():
    import etcd3
    import kazoo.version
    pkgs = sh(["dpkg-query", "-W", "-f", "${Package}=${Version}\n", "zookeeper",
               "etcd-server", "python3-kazoo", "python3-etcd3", "serf"]).splitlines()
    return {"debian_packages": dict(p.split("=", 1) for p in pkgs if "=" in p),
            "etcd": sh(["etcd", "--version"]).splitlines()[0],
            "java": sh(["java", "-version"]).splitlines()[0],
            "serf": (sh(["serf", "version"]).splitlines() or [""])[0],
            "kazoo": kazoo.version.__version__, "python_etcd3": etcd3.__version__}


def row_samples(row):
    """The samples (ms) of a detection or failover row of a results file."""
    if "latencies_ms" in row:
        return row["latencies_ms"]
    return [t["latency_ms"] if isinstance(t, dict) else t for t in row["trials"]]


def fmt(x):
    return "-" if x is None else f"{x:.0f}"


def markdown(res):
    # The reference: roster at its default heartbeat (100 ms), same failure mode.
    ref = {r["mode"]: r["stats"].get("median") for r in res["detection"]
           if r["system"] == "roster" and r["setting"].get("heartbeat_ms") == 100}
    out = []
    if res["detection"]:
        out += ["Dead-client detection: ms from kill/stop until all 3 watchers saw the "
                "member gone; ratio = median / roster's median at its default 100 ms heartbeat, same mode", "",
                "| system | setting | mode | n | min | median | p90 | p99 | max | ratio to roster | spurious |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["detection"]:
        s = r["stats"]
        base = ref.get(r["mode"])
        ratio = f"{s['median'] / base:.2f}" if base and s.get("median") is not None else "-"
        out.append(f"| {r['system']} | {r['label']} | {r['mode']} | {s['n']} | "
                   + " | ".join(fmt(s.get(k)) for k in ("min", "median", "p90", "p99", "max"))
                   + f" | {ratio} | {r['spurious']} |")
    if res["failover"]:
        out += ([""] if out else []) + [
            "Leader failover: ms from SIGKILL of the leader to the first successful write started after it", "",
            "| system | cluster | n | min | median | p90 | max |", "|---|---|---|---|---|---|---|"]
        for r in res["failover"]:
            s = r["stats"]
            out.append(f"| {r['system']} | {r['label']} | {s['n']} | "
                       + " | ".join(fmt(s.get(k)) for k in ("min", "median", "p90", "max")) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--systems", default="roster,zookeeper,etcd,serf")
    ap.add_argument("--roster-heartbeats", default="50,100,1000",
                    help="roster's heartbeat intervals in ms (default phi threshold)")
    ap.add_argument("--mode", default="kill,stop", help="kill (SIGKILL) and/or stop (SIGSTOP)")
    ap.add_argument("--kills", type=int, default=30, help="kills per (system, setting, mode) (0: skip detection)")
    ap.add_argument("--failover", type=int, default=10, help="leader kills per system (0: skip)")
    ap.add_argument("--zk-tick-ms", type=int, default=100)
    ap.add_argument("--zk-sessions", default="min,500,1000,2000",
                    help="session timeouts in ms; min = 2*tickTime, the smallest legal")
    ap.add_argument("--etcd-heartbeat-ms", type=int, default=50)
    ap.add_argument("--etcd-election-ms", type=int, default=500)
    ap.add_argument("--etcd-ttls", default="min,2,5",
                    help="lease TTLs in s; min = the smallest etcd grants (probed)")
    ap.add_argument("--serf-profiles", default="local,lan",
                    help="serf agent -profile values (lan is serf's default, local its fastest)")
    ap.add_argument("--serf-agents", type=int, default=8,
                    help="Serf agents, the first 3 watched, the others the ones killed")
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1, help="for the random pre-kill pauses")
    ap.add_argument("--quick", action="store_true",
                    help="5 kills, 3 failovers, smallest and largest setting only")
    ap.add_argument("--out", default=os.path.join(peerlib.HERE, "results.json"))
    ap.add_argument("--workdir", help="default: a fresh /tmp/roster-peers.* (removed at the end)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir (server/client logs)")
    a = ap.parse_args()
    if a.quick:
        a.kills, a.failover = min(a.kills, 5), min(a.failover, 3)
        a.zk_sessions = "min,2000" if a.zk_sessions == ap.get_default("zk_sessions") else a.zk_sessions
        a.etcd_ttls = "min,5" if a.etcd_ttls == ap.get_default("etcd_ttls") else a.etcd_ttls
        a.roster_heartbeats = ("100" if a.roster_heartbeats == ap.get_default("roster_heartbeats")
                               else a.roster_heartbeats)
    modes = a.mode.split(",")
    systems = a.systems.split(",")
    for m in modes:
        assert m in ("kill", "stop"), m
    for s in systems:
        assert s in ("roster", "zookeeper", "etcd", "serf"), s

    # Whatever happens (exception, Ctrl-C, SIGTERM) kill every process we started: the kit's
    # atexit does, and SIGTERM exits through it.
    kill_on_signals()
    workdir = a.workdir or tempfile.mkdtemp(prefix="roster-peers.", dir="/tmp")
    rng = random.Random(a.seed)
    command = "/usr/bin/python3 bench/peers/run.py " + shlex.join(sys.argv[1:])
    res = {"command": command, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "machine": machine(), "versions": versions(), "detection": [], "failover": []}
    print(f"# {command}\n# workdir {workdir}", flush=True)
    try:
        if "roster" in systems:
            # The same scenario on roster: 3 voters, 10 members, 3 watchers (bench/detection), and
            # the consensus leader killed while views are committed every 10 ms (bench/commit).
            detection, commit = load_bench("detection"), load_bench("commit")
            for hb in [int(x) for x in a.roster_heartbeats.split(",")] if a.kills else []:
                for mode in modes:
                    lat = [x * 1000 for x in detection.measure(hb, mode, a.kills, 10, 12)]
                    print(f"# roster heartbeat {hb} ms, {mode}: median {summary(lat)['median']:.0f} ms",
                          flush=True)
                    res["detection"].append({
                        "system": "roster", "setting": {"heartbeat_ms": hb, "phi_threshold": 8}, "mode": mode,
                        "label": f"heartbeat={hb}ms phi=8", "smallest": False,
                        "stats": summary(lat), "spurious": "-", "trials": lat})
            if a.failover:
                lat = [x * 1000 for x in commit.failover(a.failover)]
                res["failover"].append({"system": "roster", "setting": {}, "label": "3 voters, defaults",
                                        "stats": summary(lat), "latencies_ms": lat})
        if "serf" in systems:
            for profile in a.serf_profiles.split(",") if a.kills else []:
                for mode in modes:
                    trials, spurious = serflib.detection(profile, a.kills, mode, workdir,
                                                         n_agents=a.serf_agents, rng=rng)
                    setting = {"profile": profile, "agents": a.serf_agents}
                    for what, key, first in (("member-failed event", "latency_ms", "first_ms"),
                                             ('"failed" log line', "log_ms", "log_first_ms")):
                        lat = [x[key] for x in trials]
                        res["detection"].append({
                            "system": "serf", "setting": setting, "mode": mode,
                            "label": f"profile={profile}, {a.serf_agents} agents ({what})",
                            "smallest": profile == "local", "stats": summary(lat),
                            "first_watcher_stats": summary([x[first] for x in trials]),
                            "spurious": spurious,
                            "trials": [dict(x, latency_ms=x[key]) for x in trials]})
        for system in [s for s in systems if s not in ("roster", "serf")]:
            if system == "zookeeper":
                base = {"tick_ms": a.zk_tick_ms}
                cluster = peerlib.ZooKeeperEnsemble(os.path.join(workdir, "zk"), tick_ms=a.zk_tick_ms)
            else:
                base = {"heartbeat_ms": a.etcd_heartbeat_ms, "election_ms": a.etcd_election_ms}
                cluster = peerlib.EtcdCluster(os.path.join(workdir, "etcd"),
                                              heartbeat_ms=a.etcd_heartbeat_ms,
                                              election_ms=a.etcd_election_ms)
            try:
                cluster.start().wait_ready()
                if system == "zookeeper":
                    res["versions"]["zookeeper_srvr"] = cluster.version()
                    smallest = cluster.min_session_ms
                    timeouts = [smallest if t == "min" else int(t) for t in a.zk_sessions.split(",")]
                else:
                    # TTLs are whole seconds and etcd raises a too-small one
                    # to its minimum, so granting 1 s reveals the minimum.
                    smallest = cluster.granted_ttl(1) * 1000
                    res["etcd_min_ttl_s"] = smallest // 1000
                    timeouts = [smallest if t == "min" else int(t) * 1000
                                for t in a.etcd_ttls.split(",")]
                print(f"# {system}: smallest session/lease {smallest} ms", flush=True)
                for t in timeouts if a.kills else []:
                    setting = dict(base, timeout_ms=t)
                    for mode in modes:
                        trials, spurious = peerlib.detection(
                            system, setting, a.kills, mode, cluster=cluster,
                            n_members=a.members, rng=rng)
                        lat = [x["latency_ms"] for x in trials]
                        res["detection"].append({
                            "system": system, "setting": setting, "mode": mode,
                            "label": peerlib.setting_label(system, setting),
                            "smallest": t == smallest, "stats": summary(lat),
                            "first_watcher_stats": summary([x["first_ms"] for x in trials]),
                            "spurious": spurious, "trials": trials})
                if a.failover:
                    lat = peerlib.leader_failover(system, base, a.failover, cluster=cluster, rng=rng)
                    label = ", ".join(f"{k}={v}" for k, v in base.items())
                    res["failover"].append({"system": system, "setting": base, "label": label,
                                            "stats": summary(lat), "latencies_ms": lat})
            finally:
                cluster.stop()
        res["complete"] = True
    finally:
        res.setdefault("complete", False)      # interrupted: partial results
        kill_all()
        res["machine"]["loadavg_end"] = loadavg()
        res["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if res["detection"] or res["failover"]:
            with open(a.out, "w") as f:
                json.dump(res, f, indent=1)
        if not a.keep and not a.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    m, v = res["machine"], res["versions"]
    print(f"\n{command}\n")
    print(f"machine: {m['cores']} cores, {m['cpu']}, load {' '.join(m['loadavg_start'])}"
          f" -> {' '.join(m['loadavg_end'])}")
    print(f"versions: zookeeper {v['debian_packages'].get('zookeeper')}, "
          f"etcd {v['debian_packages'].get('etcd-server')}, kazoo {v['kazoo']}, "
          f"python-etcd3 {v['python_etcd3']}, {v['java']}, "
          f"serf {v['debian_packages'].get('serf')} ({v.get('serf')})")
    if "etcd_min_ttl_s" in res:
        print(f"etcd smallest lease TTL granted: {res['etcd_min_ttl_s']} s")
    print()
    print(markdown(res))
    print(f"\nwrote {a.out}")


if __name__ == "__main__":
    main()
