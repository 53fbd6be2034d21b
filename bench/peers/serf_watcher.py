#!/usr/bin/python3
"""Watch one Serf agent through `serf monitor` (its RPC) and print, per member event the agent
delivers (after Serf's coalescing, i.e. when its event handlers would run):

    <time.monotonic()> <json sorted names of the members alive in this agent's view>

The first such line is the initial set (`serf members -status alive`); which members an event
carries is read from the agent's log (see below). For reference it also
prints, when the agent logs "serf: EventMemberFailed: NAME" (the moment memberlist declared the
member dead, before the coalescing):

    log <time.monotonic()> <json name>

`serf monitor` first replays the agent's recent log lines; they are skipped up to a user event
with a unique name this script sends ("rb-sync-<hex>"), so every line timed is a live one.
Names come from the network: they leave here only as JSON strings."""
import argparse, json, re, subprocess, sys, time, uuid

ap = argparse.ArgumentParser()
ap.add_argument("--rpc", required=True, help="the agent's RPC address, ip:port")
ap.add_argument("--serf", default="serf")
a = ap.parse_args()

mon = subprocess.Popen([a.serf, "monitor", "-rpc-addr", a.rpc, "-log-level", "debug"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                       errors="replace")
marker = "rb-sync-" + uuid.uuid4().hex[:12]
deadline = time.monotonic() + 30
while True:     # the monitor must be attached before the marker is sent: retry until it shows
    subprocess.run([a.serf, "event", "-rpc-addr", a.rpc, "-coalesce=false", marker],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    line = mon.stdout.readline()
    synced = False
    t_retry = time.monotonic() + 1.0
    while line:
        if marker in line:
            synced = True
            break
        if time.monotonic() > t_retry:
            break
        line = mon.stdout.readline()
    if synced:
        break
    if not line or time.monotonic() > deadline:
        print(f"serf monitor on {a.rpc} did not show {marker}", file=sys.stderr, flush=True)
        sys.exit(2)

out = subprocess.run([a.serf, "members", "-rpc-addr", a.rpc, "-status", "alive", "-format", "json"],
                     capture_output=True, text=True, timeout=10)
if out.returncode != 0:
    print(f"serf members on {a.rpc} failed: {out.stderr.strip()[:300]}", file=sys.stderr, flush=True)
    sys.exit(2)
alive = {m["name"] for m in json.loads(out.stdout)["members"]}
print(f"{time.monotonic():.6f} {json.dumps(sorted(alive))}", flush=True)

# The agent logs each member event as memberlist reports it ("serf: EventMemberFailed: NAME
# ADDR"), then coalesces them (per member, the latest kind wins) and delivers one event per kind
# ("agent: Received event: member-failed"), which is what its event handlers get. The log line
# of the delivered event does not name the members, so they are the ones whose latest logged
# kind, since the previous delivery of that kind, is that kind.
MEMBER = re.compile(r"\[INFO\] serf: EventMember(Join|Failed|Leave|Update|Reap): (\S+)")
RECEIVED = re.compile(r"\[INFO\] agent: Received event: member-(\w+)")
pending = {}            # name -> latest kind logged, not yet delivered
for line in mon.stdout:
    t = time.monotonic()
    m = MEMBER.search(line)
    if m:
        kind, name = m.group(1).lower(), m.group(2)
        if len(pending) < 100000:
            pending[name] = kind
        if kind == "failed":
            print(f"log {t:.6f} {json.dumps(name)}", flush=True)
        continue
    m = RECEIVED.search(line)
    if not m:
        continue
    kind = m.group(1)
    names = [n for n, k in pending.items() if k == kind]
    for n in names:
        del pending[n]
    if kind == "join":
        alive.update(names)
    elif kind in ("failed", "leave"):
        alive.difference_update(names)
    else:
        continue                # update, reap: no change of who is alive
    print(f"{t:.6f} {json.dumps(sorted(alive))}", flush=True)
print(f"serf monitor on {a.rpc} ended (rc {mon.wait()})", file=sys.stderr, flush=True)
sys.exit(2)
