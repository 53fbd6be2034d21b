#!/usr/bin/python3
"""The chaos harness (issue 14): real rosterd processes, each in its own network namespace, a seeded
schedule of faults and of member churn, and a record of everything every subscriber delivered;
then tests/chaos/check.py judges the record. Entry point: scripts/chaos. See README.md here.

    scripts/chaos --minutes N --seed S [--nemesis LIST] [--voters 3|5] [--members N] [--out DIR]
                  [--keep] [--plant-bug skip-view] [--no-check]
    scripts/chaos --cleanup        only remove what a killed run left (rch-* namespaces, ...)
    scripts/chaos --print-plan --seed S --minutes N    the plan of that seed, and nothing else
"""

import argparse
import datetime
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "pylib"))

from rosterkit import netns  # noqa: E402
from rosterkit.cluster import Cluster  # noqa: E402
from rosterkit.keys import rosterctl_keygen  # noqa: E402
from rosterkit.linkfilter import LinkFilter  # noqa: E402
from rosterkit.paths import BIN, PYTHON, binary  # noqa: E402
from rosterkit.procs import kill_on_signals  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402

import hostfaults  # noqa: E402
from nemesis import Nemesis  # noqa: E402
from plan import KINDS, describe_plan, make_plan  # noqa: E402
from recorders import Jsonl, Observer, StatusPoller  # noqa: E402
from checker.timeline import escape  # noqa: E402

PREFIX = "rch-"
SUBNET = "10.214.0"
LOCK = "/tmp/rch-chaos.lock"
HEARTBEAT_MS = 100       # rosterd's default (the run uses default detector settings)
HEAL_BOUND_S = 10.0      # what the checker allows after a heal (run.json settings)
FORM_TIMEOUT = 90.0
FINAL_TIMEOUT = 60.0


def now_text():
    return time.strftime("%H:%M:%S")


def say(text, log_file=None):
    """One event, with the time, to stderr (and to log_file): every line of it escaped, since it
    may carry what a rosterd or a subscriber wrote (a log tail, an error) or names from their
    answers."""
    line = f"[{now_text()}] " + "\n".join(escape(part) for part in str(text).split("\n"))
    print(line, file=sys.stderr, flush=True)
    if log_file:
        log_file.write(line + "\n")
        log_file.flush()


# ---------------------------------------------------------------------------------------------
# processes of the cluster: every start, leave, kill and exit written to workload.jsonl
# ---------------------------------------------------------------------------------------------

class Fleet:
    def __init__(self, run):
        self.run = run
        self.nodes = {}            # name -> rosterkit Node
        self.expect_exit = {}      # name -> True once the harness has sent SIGKILL/SIGTERM
        self.paused = set()
        self.unexpected = []       # exits nobody asked for: findings
        self.restart_due = {}      # name -> time.monotonic() to start it again (unexpected exit)
        self._lock = threading.RLock()

    def add(self, node):
        self.nodes[node.name] = node

    def alive(self, name):
        return self.nodes[name].alive()

    def pid(self, name):
        return self.nodes[name].proc.pid

    def start(self, name, by, wait=True):
        node = self.nodes[name]
        with self._lock:
            if node.alive():
                return True
            self.expect_exit[name] = False
            self.paused.discard(name)
            self.restart_due.pop(name, None)
            node.start(wait=False)
            self.run.workload.write({"t": time.time(), "node": name, "action": "start", "by": by})
            proc = node.proc
        threading.Thread(target=self._waiter, args=(name, proc), daemon=True, name=f"wait {name}").start()
        if wait:
            try:
                node.wait_up(timeout=20)
            except Exception as e:  # noqa: BLE001 -- said, and the run goes on
                self.run.log(f"  {name} did not come up: {e}")
                return False
        return True

    def _waiter(self, name, proc):
        code = proc.wait()
        with self._lock:
            # Expected: the exit of a process already replaced, or of one the harness ended.
            expected = proc is not self.nodes[name].proc or self.expect_exit.get(name, False)
            self.run.workload.write({"t": time.time(), "node": name, "action": "exited", "code": code})
            if not expected and not self.run.stopping_all:
                self.unexpected.append({"t": time.time(), "node": name, "code": code})
                self.run.log(f"!! {name} exited by itself with code {code}: see logs/{name}.log; "
                             f"starting it again in 1 s")
                self.restart_due[name] = time.monotonic() + 1.0

    def kill(self, name, by, wait=True):
        """kill -9; with wait, returns once it is gone."""
        if self._end(name, by, "kill", signal.SIGKILL) and wait:
            self._wait_gone(self.nodes[name])

    def leave(self, name, by):
        """SIGTERM (after a SIGCONT, should it be stopped): rosterd leaves, then exits."""
        self._end(name, by, "leave", signal.SIGCONT, signal.SIGTERM)

    def _end(self, name, by, action, *signals):
        """Writes `action` to workload.jsonl and sends the signals, if it runs; whether it ran."""
        node = self.nodes[name]
        with self._lock:
            if not node.alive():
                return False
            self.expect_exit[name] = True
            self.run.workload.write({"t": time.time(), "node": name, "action": action, "by": by})
            for sig in signals:
                node.kill(sig)
            self.paused.discard(name)
        return True

    def _wait_gone(self, node, timeout=15):
        try:
            wait_for(f"{node.name} to exit", lambda: not node.alive(), timeout, 0.02)
        except TimeoutError as e:
            self.run.log(f"  {e}")

    def pause(self, name):
        with self._lock:
            self.paused.add(name)
            self.nodes[name].kill(signal.SIGSTOP)

    def resume_all(self):
        with self._lock:
            for name in sorted(self.paused):
                self.nodes[name].kill(signal.SIGCONT)
            self.paused.clear()

    def due_restarts(self):
        with self._lock:
            return [n for n, t in self.restart_due.items() if time.monotonic() >= t]


# ---------------------------------------------------------------------------------------------
# one run
# ---------------------------------------------------------------------------------------------

class Run:
    def __init__(self, args, plan):
        self.args, self.plan = args, plan
        self.dir = args.out
        self.work = os.path.join(self.dir, "work")
        self.voter_names = [f"v{i + 1}" for i in range(args.voters)]
        self.member_list = [f"m{i + 1}" for i in range(args.members)]
        self.anchors = self.member_list[:2]    # never churned: observers sit on them
        self._stop = threading.Event()        # the window is over, or a signal came
        self.stopping_all = False             # teardown: exits are expected
        self._log_file = None
        self.statuses = {}                    # voter -> its latest leaders.jsonl line
        self._status_lock = threading.Lock()
        self.topo = self.links = self.cluster = None
        self.observers, self.pollers = [], []
        self.hogs = hostfaults.CpuHogs(PYTHON)
        self.disk, self.disk_why = None, ""
        self.fleet = Fleet(self)
        self.planted = None                   # what the planted bug dropped
        self.final_converged = None
        self.schedule = self.workload = self.leaders = None   # the Jsonl files, once prepared

    # -- small services for the nemesis ------------------------------------------------------
    def log(self, text):
        say(text, self._log_file)

    def sleep(self, seconds):
        """Waits; False (at once) if the run is stopping."""
        return not self._stop.wait(max(0.0, seconds))

    def stopping(self):
        return self._stop.is_set()

    def member_names(self):
        return list(self.member_list)

    def on_status(self, voter, line):
        with self._status_lock:
            self.statuses[voter] = line

    def wait_leader(self, timeout, exclude=()):
        """The voter that says it leads (the highest term among fresh answers), waiting up to
        `timeout` s for one; None if none."""
        def leader():
            t = time.time()
            with self._status_lock:
                fresh = [(s["term"], v) for v, s in self.statuses.items()
                         if s.get("role") == "leader" and t - s["t"] < 1.0 and v not in exclude
                         and v not in self.fleet.paused and self.fleet.alive(v)]
            return max(fresh)[1] if fresh else None
        try:
            return wait_for("a consensus leader", leader, timeout, 0.05)
        except TimeoutError:
            return None

    def heal_links(self, rec):
        """Every link rule lifted; what each rule dropped goes to rec["dropped_frames"]."""
        if self.links.cut or self.links.loss:
            dropped = self.links.dropped()
            self.links.clear()
            if dropped:
                rec["dropped_frames"] = dropped

    def heal_everything(self, rec):
        """Every fault of a step undone: links, paused voters, busy loops, slow disk, killed
        voters started again."""
        self.heal_links(rec)
        self.fleet.resume_all()
        if self.hogs.procs:
            self.hogs.stop()
        if self.disk is not None and self.disk.slowed:
            self.disk.heal()
        down = [v for v in self.voter_names if not self.fleet.alive(v)]
        for v in down:
            self.fleet.start(v, by="nemesis", wait=False)
        for v in down:
            try:
                self.fleet.nodes[v].wait_up(timeout=20)
            except Exception as e:  # noqa: BLE001
                self.log(f"  {v} did not come up again: {e}")

    def snapshot_voters(self, directory, prefix=""):
        """{"status", "members"} of every voter, as rosterctl --json prints them, to DIR/PREFIX<voter>.json."""
        os.makedirs(directory, exist_ok=True)
        for v in self.cluster.voter_nodes:
            out = {}
            for what in ("status", "members"):
                try:
                    out[what] = self.cluster.ctl(v, what, timeout_ms=2000)
                except Exception as e:  # noqa: BLE001 -- recorded as such
                    out[what] = None
                    out.setdefault("errors", {})[what] = str(e)[:300]
            out["t"] = time.time()
            with open(os.path.join(directory, f"{prefix}{v.name}.json"), "w") as f:
                json.dump(out, f, indent=1)

    # -- the run ---------------------------------------------------------------------------
    def prepare(self):
        for d in ("history", "final", "logs", "work"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        self._log_file = open(os.path.join(self.dir, "harness.log"), "a")
        self.schedule = Jsonl(os.path.join(self.dir, "schedule.jsonl"))
        self.workload = Jsonl(os.path.join(self.dir, "workload.jsonl"))
        self.leaders = Jsonl(os.path.join(self.dir, "leaders.jsonl"))
        with open(os.path.join(self.dir, "plan.json"), "w") as f:
            json.dump(self.plan, f, indent=1)

    def run_json(self, start, end=None, extra=None):
        hosts = self.topo.hosts
        doc = {"seed": self.args.seed, "minutes": self.args.minutes, "start": start, "end": end,
               "nemeses": self.kinds,
               "voters": {v.name: {"voter_id": v.voter_id, "ip": hosts[v.name].ip} for v in self.cluster.voter_nodes},
               "members": {m: {"ip": hosts[m].ip} for m in self.member_list},
               "settings": {"heartbeat_interval_ms": HEARTBEAT_MS, "phi_threshold": 8, "heal_bound_s": HEAL_BOUND_S,
                            "rosterd": "defaults (detector, settle windows), --log-level debug", "secured": True},
               "planted_bug": self.args.plant_bug,
               "command": "scripts/chaos " + shlex.join(self.args.argv),
               "observers": [o.name for o in self.observers] or self.observer_names()}
        doc.update(extra or {})
        tmp = os.path.join(self.dir, "run.json.tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, os.path.join(self.dir, "run.json"))

    def observer_plan(self):
        """Which subscriber where: rosterctl on every voter; the C++ client library (watch_views)
        on v1 and m1; rosterctl on m1 and m2; the Python wire-protocol subscriber on m2."""
        a = self.anchors
        out = [("ctl", v) for v in self.voter_names] + [("lib", self.voter_names[0])]
        out += [("ctl", a[0]), ("lib", a[0]), ("ctl", a[1]), ("py", a[1])]
        return out

    def observer_names(self):
        return [f"{k}-{n}" for k, n in self.observer_plan()]

    def execute(self):
        args = self.args
        self.kinds = list(args.kinds)
        self.loadavg_start = os.getloadavg()
        self.log(f"run directory: {self.dir}")
        self.log(describe_plan(self.plan))

        # The network: namespaces rch-<node> joined by a Linux bridge in rch-hub, nftables on it.
        self.topo = netns.Topology(self.voter_names + self.member_list, PREFIX, SUBNET, emulator="bridge",
                                   workdir=self.work, seed=args.seed, log=self.log,
                                   ips={**{v: f"{SUBNET}.{10 + i}" for i, v in enumerate(self.voter_names)},
                                        **{m: f"{SUBNET}.{20 + i}" for i, m in enumerate(self.member_list)}})
        self.topo.up()
        self.links = LinkFilter(self.topo)

        # The voters' disk (a loop-mounted ext4, throttled by slow-disk steps) if possible here.
        cluster_dir = os.path.join(self.work, "cluster")
        if "slow-disk" in self.kinds:
            self.disk_why = hostfaults.SlowDisk.possible()
            if self.disk_why:
                self.log(f"slow-disk steps are skipped: {self.disk_why}")
            else:
                self.disk = hostfaults.SlowDisk(self.work, cluster_dir, log=self.log)
                self.disk.setup()

        # The cluster: secured, keys from rosterctl keygen, every node on its own host.
        # --log-level debug: at info a voter does not say when its detector suspects a member or
        # hears from it again, which is what a false removal is to be read from (those two lines
        # are all that debug adds).
        self.cluster = Cluster(voters=args.voters, heartbeat_ms=HEARTBEAT_MS, workdir=cluster_dir, secure=True,
                               hosts=self.topo.hosts, log_dir=os.path.join(self.dir, "logs"),
                               key_maker=rosterctl_keygen, voter_args=["--log-level", "debug"],
                               member_args=["--log-level", "debug"])
        for m in self.member_list:
            self.cluster.member_key(m)
        start = time.time()
        self.run_json(start)
        for v in self.cluster.voter_nodes:
            self.fleet.add(v)
        for v in self.cluster.voter_nodes:
            self.fleet.start(v.name, by="harness", wait=False)
        for v in self.cluster.voter_nodes:
            v.wait_up(timeout=20)
        for v in self.cluster.voter_nodes:
            p = StatusPoller(v, self.cluster, self.leaders, os.path.join(self.dir, "logs"), on_status=self.on_status,
                             log=self.log)
            p.start()
            self.pollers.append(p)
        if self.wait_leader(FORM_TIMEOUT) is None:
            raise RuntimeError("no consensus leader within the formation timeout")

        # Members (their nodes made by the cluster, started through the fleet).
        for m in self.member_list:
            node = self.cluster.add_member_node(m)
            self.fleet.add(node)
            self.fleet.start(m, by="harness", wait=False)
        for m in self.member_list:
            self.fleet.nodes[m].wait_up(timeout=20)
        everyone = set(self.voter_names) | set(self.member_list)
        wait_for(f"every voter to hold a view of all {len(everyone)} nodes",
                 lambda: self.converged(everyone), FORM_TIMEOUT, 0.3)
        self.log(f"formed in {time.time() - start:.1f} s")

        # Observers.
        skip = self.planted_bug_filter() if args.plant_bug == "skip-view" else None
        for kind, name in self.observer_plan():
            o = Observer(kind, self.fleet.nodes[name], self.cluster, os.path.join(self.dir, "history"),
                         os.path.join(self.dir, "logs"), skip=skip, log=self.log)
            o.start()
            self.observers.append(o)
        self.run_json(start)
        wait_for("every observer's first item", lambda: all(o.items > 0 for o in self.observers), 30, 0.2)

        # The window: workload and supervisor threads, the nemesis here.
        supervisor = threading.Thread(target=self.supervise, daemon=True, name="supervisor")
        supervisor.start()
        self.window_start = time.time()
        window_end = self.window_start + self.plan["window_s"]
        workload = threading.Thread(target=self.run_workload, daemon=True, name="workload")
        workload.start()
        timer = threading.Timer(max(0.0, window_end - time.time()), self._stop.set)
        timer.daemon = True
        timer.start()
        self.log(f"window: {self.plan['window_s']:.0f} s, until {time.strftime('%H:%M:%S', time.localtime(window_end))}")
        nemesis = Nemesis(self)
        try:
            nemesis.run_plan(self.plan["steps"], self.window_start, window_end)
            self._stop.wait(max(0.0, window_end - time.time()))
        finally:
            self._stop.set()
            timer.cancel()
            workload.join(timeout=30)
        self.log("window over: every fault healed; waiting for the cluster to settle")

        # The quiet end: converged views, then the final states.
        t0 = time.time()
        self.restart_unexpected()
        try:
            wait_for("every voter to hold the same view of every running node",
                     lambda: self.converged({n for n in everyone if self.fleet.alive(n)}), FINAL_TIMEOUT, 0.5)
            self.final_converged = True
            self.log(f"settled in {time.time() - t0:.1f} s")
        except TimeoutError as e:
            self.final_converged = False
            self.log(f"!! did not settle: {e}")
            self.describe_views()
        self.snapshot_voters(os.path.join(self.dir, "final"))
        self.cpu = self.cpu_seconds()
        supervisor_stop = time.time()
        self.stopping_all = True
        for o in self.observers:
            o.stop()
        for p in self.pollers:
            p.stop()
        end = time.time()
        summary = self.summary(nemesis, t0, supervisor_stop)
        self.run_json(start, end, summary)
        return summary

    def cpu_seconds(self):
        """CPU seconds (user + system) used so far by the harness itself, the recorders that run
        now (observers, pollers) and the rosterd processes that run now (the killed ones took
        theirs with them): to show that the recording does not crowd out the daemons."""
        tick = os.sysconf("SC_CLK_TCK")

        def of(pid):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                return 0.0
        def total(procs):
            return round(sum(of(p.pid) for p in procs if p is not None and p.alive()), 1)
        t = os.times()
        out = {"harness": round(t.user + t.system, 1),
               "rosterd_running": total(n.proc for n in self.fleet.nodes.values()),
               "status_pollers": total(p.proc for p in self.pollers)}
        for kind in sorted({o.kind for o in self.observers}):
            out[f"observers_{kind}"] = total(o.proc for o in self.observers if o.kind == kind)
        return out

    def converged(self, names):
        views = []
        for v in self.cluster.voter_nodes:
            if not v.alive():
                return False
            view = self.cluster.ctl(v, "members", timeout_ms=1500)
            views.append(view)
        ids = {v["view_id"] for v in views}
        return len(ids) == 1 and all({m["name"] for m in v["members"]} == set(names) for v in views)

    def describe_views(self):
        for v in self.cluster.voter_nodes:
            try:
                view = self.cluster.ctl(v, "members", timeout_ms=1500)
                self.log(f"  {v.name}: view {view['view_id']}: {sorted(m['name'] for m in view['members'])}")
            except Exception as e:  # noqa: BLE001
                self.log(f"  {v.name}: no answer: {e}")

    def run_workload(self):
        for a in self.plan["workload"]:
            if not self.sleep(self.window_start + a["at"] - time.time()):
                return
            name, action = a["node"], a["action"]
            self.log(f"workload: {action} {name}")
            if action == "start":
                node = self.fleet.nodes[name]
                if node.alive():
                    # Still leaving (a leave waits up to 5 s for its commit): give it time.
                    try:
                        wait_for(f"{name} to finish leaving", lambda: not node.alive(), 10, 0.05)
                    except TimeoutError:
                        self.fleet.kill(name, by="workload")
                self.fleet.start(name, by="workload")
            elif action == "leave":
                self.fleet.leave(name, by="workload")
            elif action == "kill":
                self.fleet.kill(name, by="workload")

    def restart_unexpected(self):
        for name in self.fleet.due_restarts():
            self.fleet.start(name, by="harness")

    def supervise(self):
        while not self.stopping_all:
            for o in self.observers:
                o.check()
            for p in self.pollers:
                p.check()
            if not self._stop.is_set():
                self.restart_unexpected()
            time.sleep(0.5)

    def planted_bug_filter(self):
        """--plant-bug skip-view: one observer (drawn from the seed) drops the third view it
        delivers after the window starts, before recording it. The checker must see the gap."""
        victim = random.Random(f"bug-{self.args.seed}").choice(self.observer_names())
        state = {"seen": 0}
        lock = threading.Lock()

        def skip(observer, item, t):
            if observer.name != victim or "view_id" not in item or item.get("resync"):
                return False
            if not hasattr(self, "window_start") or t < self.window_start:
                return False
            with lock:
                if self.planted is not None:
                    return False
                state["seen"] += 1
                if state["seen"] == 3:
                    self.planted = {"observer": victim, "view_id": item["view_id"], "t": t,
                                    "session": observer.session}
                    self.log(f"planted bug: {victim} dropped view {item['view_id']}")
                    return True
            return False
        return skip

    def summary(self, nemesis, t_final, t_stop):
        return {"steps": nemesis.step_no,
                "final_converged": self.final_converged,
                "final_wait_s": round(t_stop - t_final, 2),
                "unexpected_exits": self.fleet.unexpected,
                "observer_sessions": {o.name: o.session for o in self.observers},
                "observer_items": {o.name: o.items for o in self.observers},
                "planted_bug_detail": self.planted,
                "slow_disk": None if self.disk is None else {"image": self.disk.image,
                                                              "write_iops": hostfaults.SLOW_WRITE_IOPS},
                "slow_disk_unavailable": self.disk_why or None,
                "window": {"start": self.window_start, "seconds": self.plan["window_s"]},
                "cpu_seconds": self.cpu,
                "loadavg_start": self.loadavg_start, "loadavg_end": os.getloadavg()}

    def teardown(self):
        """Everything the run made goes, whatever happened: processes, links, namespaces, the
        disk, the busy loops. A part that fails is said and the others are still removed (the
        namespaces above all)."""
        self.stopping_all = True
        self._stop.set()

        def attempt(what, action):
            try:
                action()
            except Exception as e:  # noqa: BLE001 -- said; the rest must go too
                self.log(f"  teardown: {what} failed: {type(e).__name__}: {e}")

        for o in self.observers:
            attempt(f"stopping observer {o.name}", o.stop)
        for p in self.pollers:
            attempt(f"stopping the status poller of {p.node.name}", p.stop)
        attempt("stopping the busy loops", self.hogs.stop)
        if self.cluster is not None:
            attempt("resuming the paused nodes", self.fleet.resume_all)
            attempt("stopping the cluster", self.cluster.stop)
        if self.topo is not None:
            attempt("removing the namespaces", self.topo.down)
        if self.disk is not None:
            attempt("removing the slow disk", self.disk.teardown)
        for journal in (self.schedule, self.workload, self.leaders):
            if journal is not None:
                journal.close()
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# cleanup of a killed run: at start (under the lock), and by a guardian when the harness dies
# ---------------------------------------------------------------------------------------------

def cleanup_leftovers(log):
    netns.cleanup_leftovers(PREFIX, log)
    hostfaults.cleanup_leftovers(log)


def start_guardian():
    """A process outside the harness's process tree (double fork) that waits for the harness to
    end: if it ends without saying "done" (kill -9, a ctest timeout), the guardian takes the lock
    and removes the leftovers. Returns the pipe to say "done" on."""
    r, w = os.pipe()
    os.set_inheritable(r, True)
    subprocess.Popen(["sh", "-c", f'"$0" "$1" --guardian <&{r} >/dev/null 2>&1 &', PYTHON, os.path.abspath(__file__)],
                     pass_fds=(r,), start_new_session=True, stdin=subprocess.DEVNULL).wait()
    os.close(r)
    return os.fdopen(w, "w")


def guardian():
    said = sys.stdin.read()
    if "done" in said:
        return 0
    lock = netns.take_lock(LOCK, timeout=10)
    if lock is None:
        return 0  # a new run has it: its own start removes the leftovers
    cleanup_leftovers(lambda text: None)
    lock.close()
    return 0


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=3.0, help="length of the chaos window (default 3)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the plan (default: drawn, and printed)")
    ap.add_argument("--nemesis", default="all",
                    help="comma-separated kinds, or all (default): " + ", ".join(KINDS))
    ap.add_argument("--voters", type=int, default=3, choices=(3, 5))
    ap.add_argument("--members", type=int, default=5, help="members besides the voters (>= 3; default 5)")
    ap.add_argument("--out", default=None, help="run directory (default /tmp/roster-chaos/<time>-seed<S>)")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace the run directory of --out if it holds an earlier run (ctest's chaos.Short)")
    ap.add_argument("--keep", action="store_true", help="keep work/ in the run directory (data dirs, keys, disk)")
    ap.add_argument("--plant-bug", choices=("skip-view",), default=None,
                    help="skip-view: one observer drops one delivered view before recording it")
    ap.add_argument("--no-check", action="store_true", help="do not run tests/chaos/check.py at the end")
    ap.add_argument("--print-plan", action="store_true", help="print the plan of this seed and exit")
    ap.add_argument("--cleanup", action="store_true", help="only remove what a killed run left behind")
    ap.add_argument("--guardian", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.argv = list(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1_000_000)
    if args.nemesis == "all":
        args.kinds = list(KINDS)
    else:
        args.kinds = [k.strip() for k in args.nemesis.split(",") if k.strip()]
        bad = [k for k in args.kinds if k not in KINDS]
        if bad or not args.kinds:
            ap.error((f"unknown nemesis kinds {bad}" if bad else "--nemesis names no kind")
                     + f"; known: {', '.join(KINDS)}")
    if args.members < 3:
        ap.error("--members must be at least 3 (two stay up for the observers, the others churn)")
    if args.out is None:
        args.out = os.path.join("/tmp/roster-chaos", f"{datetime.datetime.now():%Y%m%d-%H%M%S}-seed{args.seed}")
    args.out = os.path.abspath(args.out)
    return args


def run_checker(run_dir, log):
    check = os.path.join(HERE, "check.py")
    if not os.path.exists(check):
        log("tests/chaos/check.py is not there (yet): the record was not checked")
        return None
    log(f"checking: {PYTHON} tests/chaos/check.py {run_dir}")
    r = subprocess.run([PYTHON, check, run_dir])
    return r.returncode


def main(argv):
    args = parse_args(argv)
    if args.guardian:
        return guardian()
    members = [f"m{i + 1}" for i in range(args.members)]
    plan = make_plan(args.seed, args.minutes, args.kinds, [f"v{i + 1}" for i in range(args.voters)], members,
                     churn=members[2:])
    if args.print_plan:
        print(describe_plan(plan))
        return 0
    if os.geteuid() != 0:
        print("scripts/chaos needs root (network namespaces, nftables, cgroups)", file=sys.stderr)
        return 2
    lock = netns.take_lock(LOCK)  # held until this process ends
    if lock is None:
        print(f"another chaos run holds {LOCK}", file=sys.stderr)
        return 2

    if args.cleanup:
        cleanup_leftovers(say)
        return 0
    for b in ("rosterd", "rosterctl", "watch_views"):
        if not os.access(binary(b), os.X_OK):
            print(f"{binary(b)} is missing: build it (cmake --build build --target rosterd rosterctl watch_views "
                  f"roster_python) or set ROSTER_BIN", file=sys.stderr)
            return 2
    if os.path.exists(args.out) and os.listdir(args.out):
        if not (args.overwrite and os.path.exists(os.path.join(args.out, "run.json"))):
            print(f"{args.out} exists and is not empty: give another --out"
                  + ("" if args.overwrite else " (or --overwrite, to replace an earlier run there)"), file=sys.stderr)
            return 2
        shutil.rmtree(args.out)
    os.makedirs(args.out, exist_ok=True)

    kill_on_signals()
    guard = start_guardian()
    cleanup_leftovers(say)
    say(f"seed {args.seed}: replay with: scripts/chaos {shlex.join(args.argv if '--seed' in args.argv else args.argv + ['--seed', str(args.seed)])}")
    say(f"binaries: {BIN}")
    run = Run(args, plan)
    harness_error = summary = None
    try:
        run.prepare()
        summary = run.execute()
        run.log(f"recorded: {summary['steps']} steps, observer items {summary['observer_items']}, "
                f"sessions {summary['observer_sessions']}, unexpected exits {len(summary['unexpected_exits'])}")
    except BaseException as e:  # noqa: BLE001 -- a signal, a failed start: always torn down
        harness_error = e
        run.log(f"harness stopped: {type(e).__name__}: {e}")
    finally:
        try:
            run.teardown()
        finally:
            cleanup_leftovers(say)  # nothing should be left; a no-op then
        # Not reached if either failed: then the guardian removes what is left.
        guard.write("done\n")
        guard.close()
    if harness_error is not None:
        if isinstance(harness_error, (KeyboardInterrupt, SystemExit)):
            return 130
        import traceback
        traceback.print_exception(harness_error)
        return 2
    if args.no_check:
        say(f"run directory: {args.out} (not checked: --no-check)")
        return 0
    code = run_checker(args.out, say)
    # What the harness itself saw fail: a rosterd that exited by itself (a crash), a cluster that
    # did not settle within FINAL_TIMEOUT after every fault was healed.
    failed = []
    if summary["unexpected_exits"]:
        failed.append("rosterd exited by itself: " + ", ".join(f"{e['node']} (code {e['code']})"
                                                              for e in summary["unexpected_exits"]))
    if not summary["final_converged"]:
        failed.append(f"the voters did not agree on a view of every running node within {FINAL_TIMEOUT:.0f} s "
                      "after the last heal")
    for f in failed:
        say(f"FAILED: {f}")
    say(f"run directory: {args.out}")
    if code not in (None, 0) or failed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
