#!/usr/bin/python3
"""Grant a lease of --ttl seconds, put /roster-bench/members/<name> under it,
print 'ready ttl=<granted>', then keep the lease alive over one KeepAlive
stream every TTL/3 (as etcd's Go client aims to) until killed.  On a stream
error it moves to the next endpoint.  SIGTERM revokes the lease (key gone at
once); SIGKILL/SIGSTOP leave it to expire.  Prints 'lost' and exits 3 if etcd
says the lease has expired."""
import argparse, os, signal, sys, threading, time
import etcd3, grpc
from etcd3 import etcdrpc
from peerlib import MEMBERS_PREFIX      # puts the kit (tests/pylib) on sys.path
from rosterkit.waiting import wait_for

ap = argparse.ArgumentParser()
ap.add_argument("--endpoints", required=True, help="ip:port,... tried in this order")
ap.add_argument("--name", required=True)
ap.add_argument("--ttl", type=int, required=True, help="seconds")
a = ap.parse_args()

clients = [etcd3.client(h, int(p), timeout=2.0)
           for h, p in (e.rsplit(":", 1) for e in a.endpoints.split(","))]
idx = 0


def register():
    """A lease and the key under it through endpoint idx; on failure the next endpoint."""
    global idx
    try:
        lease = clients[idx].lease(a.ttl)
        clients[idx].put(MEMBERS_PREFIX + a.name, a.name, lease=lease.id)
        return lease
    except Exception as e:     # etcd3 wraps grpc errors in its own exceptions
        print(f"register via {idx} failed: {e!r}", file=sys.stderr, flush=True)
        idx = (idx + 1) % len(clients)
        raise


lease = wait_for(f"registering {a.name}", register, timeout=30, interval=0.1)
print(f"ready ttl={lease.ttl}", flush=True)
period = lease.ttl / 3.0


def stop(*_):
    try:
        clients[idx].revoke_lease(lease.id)
    finally:
        os._exit(0)


signal.signal(signal.SIGTERM, stop)

while True:
    closed = threading.Event()

    def requests():          # consumed by a gRPC thread
        while not closed.is_set():
            yield etcdrpc.LeaseKeepAliveRequest(ID=lease.id)
            closed.wait(period)

    try:
        for resp in clients[idx].leasestub.LeaseKeepAlive(requests()):
            if resp.TTL <= 0:
                print("lost", flush=True)
                os._exit(3)
    except grpc.RpcError as e:
        print(f"keepalive via {idx} failed: {e.code()}", file=sys.stderr, flush=True)
    finally:
        closed.set()
    idx = (idx + 1) % len(clients)
    time.sleep(0.02)
