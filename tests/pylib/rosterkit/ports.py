"""TCP ports for clusters on loopback that concurrently running tests cannot collide on.

The scheme:

1. Ports come from a range below the kernel's ephemeral range (ip_local_port_range, usually
   32768-60999): a port there is never handed out implicitly, so no outgoing connect() of any
   process can take it between our check and the daemon's bind, as a port from bind(0) can.
   The range is 10000-19999 (cut at the ephemeral range's start if that is lower), or
   ROSTER_PORT_RANGE=LO-HI.
2. The range is cut into blocks of 64 ports. A process owns a block by holding an exclusive,
   non-blocking flock() on the block's lock file, /tmp/roster-ports/<first port>.lock (or in
   ROSTER_PORT_LOCK_DIR), for as long as it lives: two processes that use this module never
   hand out the same port, whatever they run at the same time (ctest -j, a benchmark next to
   the tests). A block is picked at random among the free ones, so that one freed a moment ago
   (with connections in TIME_WAIT) is not likely to be taken next. The kernel drops a lock when
   the last descriptor of it closes, so a crashed process leaves nothing to clean up; the
   children a Proc starts inherit the descriptors (procs.py), so a block stays reserved while
   a daemon that may listen on its ports lives, even if the test that started it is gone.
3. Within its blocks, a process hands out each port once, in order, and only after checking
   that it can bind it on 127.0.0.1 right now (a program that does not use this module, or a
   daemon that outlived its test, may hold it); a port that fails is skipped. When a block runs
   out, the process takes another.

What this cannot rule out is a program outside the scheme binding one of our ports by number
after the check; cluster.py's second line of defence restarts a node that says its port is in
use, on fresh ports, while that is still safe (before the cluster has formed).

listening_ports(pid) tells which TCP ports a process listens on (from /proc), which is how a
harness knows a daemon is up.
"""

import errno
import fcntl
import os
import random
import socket
import threading

BLOCK = 64
LOCK_DIR = os.environ.get("ROSTER_PORT_LOCK_DIR", "/tmp/roster-ports")

_lock = threading.Lock()
_held = {}       # first port of a block -> the open lock file
_queue = []      # ports of our blocks not handed out yet
_rng = random.Random()


class NoPortsLeft(RuntimeError):
    pass


def ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def port_range():
    """[lo, hi): where the blocks are."""
    text = os.environ.get("ROSTER_PORT_RANGE")
    if text:
        lo, hi = (int(x) for x in text.split("-"))
        return lo, hi
    return 10000, min(20000, ephemeral_range()[0])


def _blocks():
    lo, hi = port_range()
    return list(range(lo, hi - BLOCK + 1, BLOCK))


def _take_block():
    """Locks a free block and returns its first port (NoPortsLeft if every block is held)."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    try:
        os.chmod(LOCK_DIR, 0o1777)  # other users' tests share the blocks too
    except OSError:
        pass
    candidates = [b for b in _blocks() if b not in _held]
    _rng.shuffle(candidates)
    for first in candidates:
        path = os.path.join(LOCK_DIR, f"{first}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                continue
            raise
        _held[first] = fd
        return first
    raise NoPortsLeft(f"all {len(_blocks())} port blocks of {port_range()} are held "
                      f"(lock files in {LOCK_DIR}); this process holds {len(_held)}")


def bindable(port, host="127.0.0.1"):
    """Nobody listens on or is bound to host:port right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def allocate(n):
    """n distinct TCP ports on 127.0.0.1, from blocks this process owns, each bindable now."""
    out = []
    with _lock:
        while len(out) < n:
            if not _queue:
                first = _take_block()
                _queue.extend(range(first, first + BLOCK))
            p = _queue.pop(0)
            if bindable(p):
                out.append(p)
    return out


def held_fds():
    """The descriptors of the block locks this process holds (children inherit them)."""
    with _lock:
        return tuple(_held.values())


def held_blocks():
    """First ports of the blocks this process holds."""
    with _lock:
        return sorted(_held)


def _tcp_sockets(pid=None):
    """(local port, state, inode) of every TCP socket of this network namespace, or of process
    pid's (state 0A: LISTEN)."""
    where = f"/proc/{pid}/net" if pid is not None else "/proc/net"
    for table in (f"{where}/tcp", f"{where}/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()  # sl local_address rem_address st ... uid timeout inode
                    yield int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
        except OSError:
            continue


def _socket_inodes(pid):
    """The inodes of the sockets process pid has open (empty if it is gone)."""
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def listening_ports(pid):
    """The TCP ports on which process pid has a listening socket (empty if it is gone), in its own
    network namespace (a daemon started with `ip netns exec` lists its ports there)."""
    inodes = _socket_inodes(pid)
    if not inodes:
        return set()
    return {port for port, state, inode in _tcp_sockets(pid) if state == "0A" and inode in inodes}


def holders(port):
    """pids of the processes with a TCP socket on local port `port` (as far as /proc shows)."""
    inodes = {inode for p, _, inode in _tcp_sockets() if p == port}
    if not inodes:
        return []
    return [int(pid) for pid in filter(str.isdigit, os.listdir("/proc")) if _socket_inodes(pid) & inodes]
