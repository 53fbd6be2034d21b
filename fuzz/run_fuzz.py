#!/usr/bin/env python3
"""Runs libFuzzer targets of fuzz/ and reports on each (scripts/fuzz, and ctest's fuzz.<target>).

For each target: its regressions (fuzz/regressions/<target>) and its seed corpus
(fuzz/corpus/<target>) are replayed, then it fuzzes for --seconds. New inputs go into
<work-dir>/corpus/<target> (never into the repository), crashes into <work-dir>/crashes/<target>.
Prints one table row per target: executions, libFuzzer's final cov: and ft:, the new corpus size,
crashes. Exits 1 when a target crashed (or failed to run), with the crashing input and the command
that replays it.

  fuzz/run_fuzz.py --bin-dir build-fuzz/bin --work-dir build-fuzz --seconds 60 [--fresh] [target ...]
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = ["envelope_listen", "envelope_peer", "envelope_publish", "envelope_voter_reply",
           "log_command", "snapshot", "options", "sqlite_storage"]
DICTS = {
    "envelope_listen": "envelope.dict", "envelope_peer": "envelope.dict",
    "envelope_publish": "envelope.dict", "envelope_voter_reply": "envelope.dict",
    "log_command": "envelope.dict", "snapshot": "envelope.dict",
    "options": "options.dict", "sqlite_storage": "sqlite_storage.dict",
}
# libFuzzer's status lines: "#1234\tDONE   cov: 10 ft: 20 corp: 5/100b ... exec/s: 3 rss: 40Mb".
STATUS = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/")
EXECUTED = re.compile(r"stat::number_of_executed_units: (\d+)")


def command(binary, target, work_dir, seconds, fresh):
    corpus = os.path.join(work_dir, "corpus", target)
    crashes = os.path.join(work_dir, "crashes", target)
    if fresh:
        shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(crashes, exist_ok=True)
    cmd = [binary, f"-max_total_time={seconds}", "-timeout=25", "-rss_limit_mb=2560",
           "-print_final_stats=1", f"-artifact_prefix={crashes}/"]
    dictionary = os.path.join(HERE, "dict", DICTS[target])
    if os.path.exists(dictionary):
        cmd.append(f"-dict={dictionary}")
    # The first directory takes the new inputs; the others are only read.
    cmd.append(corpus)
    for d in (os.path.join(HERE, "regressions", target), os.path.join(HERE, "corpus", target)):
        if os.path.isdir(d):
            cmd.append(d)
    return cmd, corpus, crashes


def run(bin_dir, target, work_dir, seconds, log_dir, fresh):
    binary = os.path.join(bin_dir, f"fuzz_{target}")
    cmd, corpus, crashes = command(binary, target, work_dir, seconds, fresh)
    before = set(os.listdir(crashes))
    log_path = os.path.join(log_dir, f"{target}.log")
    started = time.monotonic()
    # The targets' scratch files (data files, config files) on tmpfs, removed here even after a crash.
    scratch = tempfile.mkdtemp(prefix="roster-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    env = dict(os.environ, ROSTER_FUZZ_SCRATCH=scratch)
    with open(log_path, "wb") as log:
        # A hung target is killed past its time with a margin: the replay of the corpus comes first.
        try:
            rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                timeout=seconds + 300).returncode
        except subprocess.TimeoutExpired:
            rc = -1
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.monotonic() - started
    row = {"target": target, "rc": rc, "seconds": elapsed, "execs": None, "cov": None, "ft": None,
           "corpus": len(os.listdir(corpus)), "log": log_path, "crashes": []}
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            m = STATUS.match(line)
            if m:
                row["cov"], row["ft"] = int(m.group(3)), int(m.group(4))
                row["execs"] = int(m.group(1))
            m = EXECUTED.search(line)
            if m:
                row["execs"] = int(m.group(1))
    row["crashes"] = sorted(os.path.join(crashes, f) for f in set(os.listdir(crashes)) - before)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--work-dir", required=True)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--fresh", action="store_true",
                    help="start from the repository's corpus alone (forget what earlier runs found)")
    ap.add_argument("targets", nargs="*")
    args = ap.parse_args()
    targets = args.targets or TARGETS
    for t in targets:
        if t not in TARGETS:
            print(f"run_fuzz: no target '{t}' (targets: {' '.join(TARGETS)})", file=sys.stderr)
            return 2
    log_dir = os.path.join(args.work_dir, "logs")
    os.makedirs(log_dir, exist_ok=True)
    rows = []
    for t in targets:
        print(f"== fuzz {t} for {args.seconds} s", flush=True)
        rows.append(run(args.bin_dir, t, args.work_dir, args.seconds, log_dir, args.fresh))

    def cell(v):
        return "-" if v is None else str(v)
    print()
    print(f"{'target':<22} {'seconds':>7} {'executions':>11} {'cov':>6} {'ft':>7} {'corpus':>7} {'crashes':>7}")
    for r in rows:
        print(f"{r['target']:<22} {r['seconds']:>7.0f} {cell(r['execs']):>11} {cell(r['cov']):>6} "
              f"{cell(r['ft']):>7} {r['corpus']:>7} {len(r['crashes']):>7}")
    failed = False
    for r in rows:
        if r["rc"] == 0 and not r["crashes"]:
            continue
        failed = True
        binary = os.path.join(args.bin_dir, f"fuzz_{r['target']}")
        print(f"\n{r['target']}: FAILED (exit {r['rc']}); log: {r['log']}")
        for c in r["crashes"]:
            print(f"  crashing input: {c}")
            print(f"  replay: {shlex.quote(binary)} {shlex.quote(c)}")
        if not r["crashes"]:
            print("  no crashing input was written: see the log (a failure to start, or a hang)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
