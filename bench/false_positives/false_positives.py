#!/usr/bin/python3
"""False positives vs detection time, on an impaired network of namespaces.

For every network profile and every setting of the system (roster: heartbeat interval x phi
threshold), on a fresh topology and a fresh cluster:

  1. start the servers (3 voters), one watcher per server host, then the members (one per host);
     wait until every watcher shows all of them;
  2. soak for --minutes: every removal of a member whose process is alive is a false positive
     (from the watchers' views; roster's voters' counters are read before and after too);
  3. kill -9 --kills members, one at a time, and time until every watcher shows each removed.

Prints a markdown table per profile (with the command line), writes JSON (--out) and a PNG plot
(--plot) of false removals per hour vs detection time, one point per setting.
See README.md in this folder.
"""

import argparse
import datetime
import json
import os
import random
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repo (here nor in bench/peers)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "pylib"))
import topology  # noqa: E402
from topology import PROFILES, Topology  # noqa: E402
from systems import SYSTEMS  # noqa: E402
from rosterkit import netns  # noqa: E402
from rosterkit.stats import median, percentile  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
LOCK = "/tmp/rfp-bench.lock"
FALSE_REASONS = ("suspected", "resync", "expired")  # removals that a live member must not get


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


def profile_text(name):
    d, j, l = PROFILES[name]
    return f"{d:g} ms ± {j:g} ms, {l:g} % loss"


# ---------------------------------------------------------------------------------------------
# one setting
# ---------------------------------------------------------------------------------------------

def run_setting(args, system_cls, profile, setting, workdir):
    label = system_cls.label(setting)
    result = {"profile": profile, "setting": setting, "label": label, "error": None,
              "loadavg_start": os.getloadavg()}
    server_names = [f"v{i + 1}" for i in range(args.voters)]
    member_names = [f"m{i + 1:02d}" for i in range(args.members)]
    topo = Topology(server_names + member_names, emulator=args.emulator, workdir=workdir, seed=args.seed)
    system = None
    try:
        t0 = time.monotonic()
        topo.up(profile)
        result["emulator"] = topo.emulator
        servers = [topo.host(n) for n in server_names]
        system = system_cls(topo, servers, setting, workdir, args)
        system.start_servers()
        system.wait_servers(args.form_timeout)
        watchers = [system.start_watcher(h) for h in servers]
        wait_for("every watcher to be connected", lambda: all(w.ready() for w in watchers), args.form_timeout, 0.1)
        members = {n: system.start_member(topo.host(n), n) for n in member_names}
        everyone = set(system.member_names())

        def formed():
            for n, p in members.items():
                if not p.alive():
                    raise RuntimeError(f"member {n} exited; see {p.log_path}")
            return all(w.present() == everyone for w in watchers)
        wait_for(f"every watcher to show all {len(everyone)} members", formed, args.form_timeout, 0.1)
        t_formed = time.monotonic()
        result["formation_s"] = round(t_formed - t0, 2)
        log(f"  formed in {t_formed - t0:.1f} s; soaking {args.minutes:g} min")

        # -- soak -----------------------------------------------------------------------------
        before = system.counters()
        t_end = t_formed + args.minutes * 60
        next_report = t_formed + 60
        died = []
        while True:
            now = time.monotonic()
            if now >= t_end:
                break
            for n, p in members.items():
                if not p.alive() and n not in died:
                    died.append(n)
                    log(f"  member {n} exited on its own during the soak (see {p.log_path})")
            if now >= next_report:
                fp = count_false(watchers, members, t_formed, now)
                log(f"  {(now - t_formed) / 60:.0f}/{args.minutes:g} min: {len(fp)} false removals so far")
                next_report += 60
            time.sleep(min(1.0, max(0.0, t_end - now)))
        t_soak_end = time.monotonic()
        after = system.counters()
        soak_s = t_soak_end - t_formed
        false_soak = count_false(watchers, members, t_formed, t_soak_end)
        result.update({
            "soak_s": round(soak_s, 1),
            "false_removals": len(false_soak),
            "false_removals_per_hour": len(false_soak) / (soak_s / 3600.0),
            "false_removal_events": [{"t_s": round(r.t - t_formed, 3), "name": r.name, "reason": r.reason}
                                     for r in false_soak],
            "false_removals_formation": len(count_false(watchers, members, t0, t_formed)),
            "members_died_on_their_own": died,
            "counters_delta": {k: (after.get(k) - before.get(k)
                                   if isinstance(after.get(k), (int, float)) and
                                   isinstance(before.get(k), (int, float)) else None)
                               for k in after if k != "voters_scraped"},
            "watcher_views": [getattr(w, "views", None) for w in watchers],
            "watcher_resyncs": [getattr(w, "resyncs", None) for w in watchers],
        })
        log(f"  soak: {len(false_soak)} false removals in {soak_s / 60:.1f} min; counters: {result['counters_delta']}")

        # -- detection ------------------------------------------------------------------------
        victims = member_names[-args.kills:] if args.kills else []
        rng = random.Random(args.seed)
        samples, per_kill = [], []
        t_det = time.monotonic()
        for n in victims:
            p = members[n]
            try:
                wait_for(f"{n} to be in every watcher's view before its kill",
                         lambda: all(n in w.present() for w in watchers), args.kill_timeout, 0.05)
            except TimeoutError as e:
                per_kill.append({"name": n, "error": str(e)})
                continue
            # A random phase: heartbeats, pings and expiry checks run on periodic timers, and a
            # kill right after the previous removal would always land at the same point of them.
            time.sleep(rng.uniform(0.0, 1.0))
            p.kill9()
            k_at = p.killed_at

            def seen():
                times = []
                for w in watchers:
                    ts = [r.t for r in w.removals() if r.name == n and r.t >= k_at]
                    if not ts:
                        return None
                    times.append(min(ts))
                return times
            try:
                times = wait_for(f"every watcher to see {n} removed", seen, args.kill_timeout, 0.01)
                ms = [round((t - k_at) * 1000, 1) for t in times]
                samples.extend(ms)
                per_kill.append({"name": n, "watchers_ms": ms})
                log(f"  kill -9 {n}: removed after {', '.join(f'{x:.0f}' for x in ms)} ms")
            except TimeoutError as e:
                per_kill.append({"name": n, "error": str(e)})
                log(f"  kill -9 {n}: {e}")
        t_det_end = time.monotonic()
        result["detection"] = {
            "samples_ms": samples,
            "median_ms": median(samples),
            "p90_ms": percentile(samples, 90),
            "max_ms": max(samples) if samples else None,
            "kills": len(victims),
            "kills_detected": sum(1 for k in per_kill if "watchers_ms" in k),
            "per_kill": per_kill,
        }
        result["false_removals_detection_phase"] = len(count_false(watchers, members, t_det, t_det_end))
        result["system_notes"] = system.notes()
    except Exception as e:  # recorded, and the sweep goes on with the next setting
        result["error"] = f"{type(e).__name__}: {e}"
        log(f"  ERROR: {result['error']}")
    finally:
        if system is not None:
            system.stop()
        topo.down()
        result["emulator_stats"] = topo.emulator_stats()
        result["loadavg_end"] = os.getloadavg()
    return result


def count_false(watchers, members, t_from, t_to):
    """Removals (deduplicated across watchers; the first arrival counts) in [t_from, t_to) of
    members not killed by the harness by then, with a reason a live member must not get."""
    first = {}
    for w in watchers:
        for r in w.removals():
            if r.key not in first or r.t < first[r.key].t:
                first[r.key] = r
    out = []
    for r in sorted(first.values(), key=lambda r: r.t):
        if not (t_from <= r.t < t_to) or r.reason not in FALSE_REASONS:
            continue
        p = members.get(r.name)
        if p is not None and p.killed_at is not None and p.killed_at <= r.t:
            continue  # a removal the harness caused
        out.append(r)
    return out


# ---------------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------------

def fmt_ms(x):
    return "—" if x is None else f"{x:.0f}"


def markdown(report, system_cls):
    lines = []
    a = report["config"]
    lines.append(f"Command: `{report['command']}`")
    lines.append("")
    lines.append(f"{report['system']}: {a['voters']} {system_cls.servers_word} + {a['members']} members, "
                 f"one per network namespace; "
                 f"{a['minutes']:g} min soak per setting; detection over {a['kills']} kill -9 x "
                 f"{a['voters']} watchers; emulator: {', '.join(sorted(set(r.get('emulator') or '?' for r in report['runs'])))}; "
                 f"{report['host']}, {report['date']}.")
    for profile in report["profiles"]:
        runs = [r for r in report["runs"] if r["profile"] == profile]
        lines.append("")
        lines.append(f"### Profile {profile}: {profile_text(profile)} (each one-way path, at the sender's egress)")
        lines.append("")
        cols = system_cls.columns
        ckey, ctitle = system_cls.counter_column
        head = cols + ["false removals", "per hour", ctitle, "detection median ms",
                       "detection p90 ms", "detected", "note"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(" ---: " for _ in head[:-1]) + "| --- |")
        for r in runs:
            d = r.get("detection") or {}
            c = r.get("counters_delta") or {}
            note = []
            if r.get("error"):
                note.append(r["error"][:80])
            if (r.get("system_notes") or {}).get("warning"):
                note.append(r["system_notes"]["warning"])
            if (r.get("system_notes") or {}).get("note"):
                note.append(r["system_notes"]["note"])
            if r.get("false_removals_formation"):
                note.append(f"{r['false_removals_formation']} during formation")
            if r.get("false_removals_detection_phase"):
                note.append(f"{r['false_removals_detection_phase']} during the kills")
            es = r.get("emulator_stats") or {}
            late = es.get("lateness_ms") or {}
            if (late.get("p99") or 0) > 5 or (late.get("p999") or 0) > 20:
                note.append(f"emulator late: p99 {late['p99']:.0f} ms, p99.9 {late['p999']:.0f} ms")
            row = [f"{r['setting'][k]:g}" if isinstance(r['setting'][k], float) else str(r['setting'][k])
                   for k in cols]
            row += [str(r.get("false_removals", "—")),
                    f"{r['false_removals_per_hour']:.1f}" if r.get("false_removals_per_hour") is not None else "—",
                    f"{c[ckey]:.0f}" if c.get(ckey) is not None else "—",
                    fmt_ms(d.get("median_ms")), fmt_ms(d.get("p90_ms")),
                    f"{d.get('kills_detected', 0)}/{d.get('kills', 0)}" if d else "—",
                    "; ".join(note)]
            lines.append("| " + " | ".join(row) + " |")
        best = best_zero(runs)
        lines.append("")
        if best:
            d = best["detection"]
            lines.append(f"Fastest setting with zero false removals ({profile}): **{best['label']}**, detection "
                         f"median {d['median_ms']:.0f} ms, p90 {d['p90_ms']:.0f} ms.")
        else:
            lines.append(f"Fastest setting with zero false removals ({profile}): none of the settings tried.")
    return "\n".join(lines)


def best_zero(runs):
    ok = [r for r in runs if not r.get("error") and r.get("false_removals") == 0
          and (r.get("detection") or {}).get("median_ms") is not None
          and r["detection"]["kills_detected"] == r["detection"]["kills"]]
    return min(ok, key=lambda r: r["detection"]["median_ms"]) if ok else None


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker as ticker

    profiles = report["profiles"]
    fig, axes = plt.subplots(1, len(profiles), figsize=(7.5 * len(profiles), 5.6), squeeze=False)
    for ax, profile in zip(axes[0], profiles):
        runs = [r for r in report["runs"] if r["profile"] == profile and (r.get("detection") or {}).get("median_ms")]
        xs = [r["detection"]["median_ms"] for r in runs]
        ys = [r["false_removals_per_hour"] for r in runs]
        up = [max(0.0, (r["detection"]["p90_ms"] or 0) - r["detection"]["median_ms"]) for r in runs]
        ax.errorbar(xs, ys, xerr=[[0] * len(up), up], fmt="o", color="tab:blue", ecolor="tab:gray",
                    capsize=3, label="median detection (bar: to p90)")
        best = best_zero(runs)
        if best:
            ax.plot([best["detection"]["median_ms"]], [0], marker="*", markersize=16, color="tab:green",
                    linestyle="none", label=f"fastest with 0 false removals: {best['label']}")
        for r, x, y in zip(runs, xs, ys):
            ax.annotate(r["label"], (x, y), textcoords="offset points", xytext=(5, 5), fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(-0.5, max([10.0] + [2 * y for y in ys]))
        if xs:
            lo, hi = min(xs) / 1.5, max(x + u for x, u in zip(xs, up)) * 1.5
            ax.set_xlim(lo, hi)
            ax.set_xticks([t for t in (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000) if lo <= t <= hi])
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("detection time after kill -9 (ms, log)")
        ax.set_ylabel("false removals per hour (symlog)")
        ax.set_title(f"{report['system']}, {profile_text(profile)}\n"
                     f"{report['config']['voters']} {report['servers_word']} + {report['config']['members']} members, "
                     f"{report['config']['minutes']:g} min soak per point", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--system", default="roster", choices=sorted(SYSTEMS))
    ap.add_argument("--profiles", default="20ms,50ms",
                    help="network profiles, comma-separated, of: " +
                    ", ".join(f"{k} ({profile_text(k)})" for k in PROFILES).replace("%", "%%"))
    ap.add_argument("--settings", default=None,
                    help="system settings; roster: 'HB:PHI,...' or 'HBS/PHIS' (cross product), "
                         "default 50,100,200,500/8,12,16; zookeeper: session timeouts in ms, default "
                         "200,500,1000,2000,5000; etcd: lease TTLs in s, default 2,3,5,10")
    ap.add_argument("--minutes", type=float, default=10.0, help="soak per setting (official runs: 10)")
    ap.add_argument("--voters", type=int, default=3)
    ap.add_argument("--members", type=int, default=10)
    ap.add_argument("--kills", type=int, default=5, help="members killed with kill -9 to time detection")
    ap.add_argument("--emulator", default="auto", choices=["auto", "netem", "userspace"],
                    help="netem: tc netem on the veths (needs sch_netem); userspace: netem_bridge.py; "
                         "auto: netem if the kernel has it")
    ap.add_argument("--out", default=None, help="JSON results (default: results/<system>.json here)")
    ap.add_argument("--plot", default=None, help="PNG path (default: --out with .png)")
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bin"))
    ap.add_argument("--log-level", default="info", help="rosterd --log-level")
    ap.add_argument("--rosterd-args", default="", help="more rosterd flags for every node, e.g. "
                    "'--removal-settle-ms 20' (recorded in the results)")
    ap.add_argument("--form-timeout", type=float, default=120.0, help="seconds to wait for a cluster to form")
    ap.add_argument("--kill-timeout", type=float, default=60.0, help="seconds to wait for one removal")
    ap.add_argument("--seed", type=int, default=1, help="seed of the userspace emulator's randomness")
    ap.add_argument("--keep-logs", action="store_true", help="keep the work directory (logs, data dirs)")
    ap.add_argument("--cleanup", action="store_true",
                    help="only remove what a killed run left behind (rfp-* namespaces and their processes)")
    args = ap.parse_args()

    system_cls = SYSTEMS[args.system]
    settings = system_cls.parse_settings(args.settings) if args.settings else system_cls.default_settings()
    profiles = [p for p in args.profiles.split(",") if p]
    for p in profiles:
        if p not in PROFILES:
            ap.error(f"unknown profile {p}")
    if args.kills > args.members:
        ap.error("--kills cannot exceed --members")
    if os.geteuid() != 0:
        ap.error("needs root (network namespaces)")
    if args.system == "roster":
        for b in ("rosterd", "rosterctl"):
            if not os.access(os.path.join(args.bin, b), os.X_OK):
                ap.error(f"{args.bin}/{b} missing: cmake -S {REPO} -B {REPO}/build && "
                         f"cmake --build {REPO}/build -j2 --target rosterd rosterctl")
    args.out = args.out or os.path.join(HERE, "results", f"{args.system}.json")
    plot_path = args.plot or os.path.splitext(args.out)[0] + ".png"

    lock = netns.take_lock(LOCK)  # held until this process ends
    if lock is None:
        print(f"another run of this benchmark holds {LOCK}", file=sys.stderr)
        return 1

    if args.cleanup:
        topology.cleanup_leftovers(log)
        return 0
    if args.emulator != "userspace":
        has_netem = topology.netem_available()
        if args.emulator == "netem" and not has_netem and any(any(PROFILES[p]) for p in profiles):
            ap.error("this kernel has no sch_netem (tc qdisc ... netem fails): use --emulator userspace")
        if args.emulator == "auto":
            args.emulator = "netem" if has_netem else "userspace"
        log(f"emulator: {args.emulator}" + ("" if has_netem else " (this kernel has no sch_netem)"))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    command = "/usr/bin/python3 " + shlex.join([os.path.relpath(os.path.abspath(sys.argv[0]), REPO)] + sys.argv[1:])
    n = len(settings) * len(profiles)
    est = n * (args.minutes + 0.6)
    log(f"{n} runs ({len(profiles)} profiles x {len(settings)} settings), about {est:.0f} min in all")

    # Work directories of runs that were killed (marked, under the lock: none is in use).
    for d in os.listdir(tempfile.gettempdir()):
        p = os.path.join(tempfile.gettempdir(), d)
        if d.startswith("rfp-") and os.path.exists(os.path.join(p, ".rfp-workdir")):
            shutil.rmtree(p, ignore_errors=True)
    workroot = tempfile.mkdtemp(prefix="rfp-")
    open(os.path.join(workroot, ".rfp-workdir"), "w").close()
    report = {
        "command": command, "system": args.system, "servers_word": system_cls.servers_word,
        "host": socket.gethostname(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "profiles": profiles,
        "profile_definitions": {p: dict(zip(("delay_ms", "jitter_ms", "loss_pct"), PROFILES[p])) for p in profiles},
        "config": {"voters": args.voters, "members": args.members, "minutes": args.minutes, "kills": args.kills,
                   "settings": settings, "emulator": args.emulator, "cpus": os.cpu_count(),
                   "rosterd_args": args.rosterd_args if args.system == "roster" else None},
        "runs": [],
    }
    interrupted = False
    try:
        topology.cleanup_leftovers(log)
        for profile in profiles:
            for i, setting in enumerate(settings):
                log(f"[{profile}] {system_cls.label(setting)} ({len(report['runs']) + 1}/{n})")
                wd = os.path.join(workroot, f"{profile}-{i:02d}")
                os.makedirs(wd)
                report["runs"].append(run_setting(args, system_cls, profile, setting, wd))
                write_json(report, args.out)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: cleaning up")
    finally:
        topology.cleanup_leftovers(log)
        if args.keep_logs:
            os.unlink(os.path.join(workroot, ".rfp-workdir"))  # not a leftover: the next run keeps it
            log(f"logs kept in {workroot}")
        else:
            shutil.rmtree(workroot, ignore_errors=True)

    report["interrupted"] = interrupted
    write_json(report, args.out)
    if report["runs"]:
        md = markdown(report, system_cls)
        print(md)
        try:
            plot(report, plot_path)
            print(f"\nJSON: {os.path.relpath(args.out)}; plot: {os.path.relpath(plot_path)}")
        except ImportError:
            print("\n(no plot: apt-get install -y python3-matplotlib)")
    return 130 if interrupted else 0


def write_json(report, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
