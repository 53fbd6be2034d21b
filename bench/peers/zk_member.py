#!/usr/bin/python3
"""Hold the ephemeral znode /roster-bench/members/<name> with a session of
--timeout-ms; print 'ready' once it exists, then keep the session alive
(kazoo pings every session/3) until killed.  SIGTERM closes the session
(node removed at once); SIGKILL/SIGSTOP leave it to expire.  Prints 'lost'
and exits 3 if the session expires while we run."""
import argparse, os, signal, sys, threading
from peerlib import MEMBERS_PATH, kazoo_client
from kazoo.protocol.states import KazooState

ap = argparse.ArgumentParser()
ap.add_argument("--servers", required=True, help="ip:port,... tried in this order")
ap.add_argument("--name", required=True)
ap.add_argument("--timeout-ms", type=int, required=True)
a = ap.parse_args()

# randomize_hosts=False: the controller chose the order to spread members.
zk = kazoo_client(a.servers, a.timeout_ms / 1000.0, randomize_hosts=False,
                  connection_retry=dict(max_tries=-1, delay=0.02, backoff=1, max_jitter=0.0))


def on_state(state):
    if state == KazooState.LOST:
        print("lost", flush=True)
        os._exit(3)
    print(f"state {state}", file=sys.stderr, flush=True)


zk.add_listener(on_state)
zk.start(timeout=30)
zk.ensure_path(MEMBERS_PATH)
zk.create(f"{MEMBERS_PATH}/{a.name}", a.name.encode(), ephemeral=True)
print("ready", flush=True)


def stop(*_):
    zk.stop()      # closes the session: the ephemeral node goes now
    os._exit(0)


signal.signal(signal.SIGTERM, stop)
threading.Event().wait()
