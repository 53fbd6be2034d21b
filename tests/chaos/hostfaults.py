"""Faults of the machine rather than of the network: CPU starvation and a slow disk; and the
removal of what a killed run of the harness left of them.

CPU starvation: busy loops, pinned with taskset to each core the voters may run on (their
affinity, read from /proc), at nice -10 so that they win against rosterd (nice 0). Each loop
carries MARKER in its command line (a leftover is found by it) and ends by itself after the
step's duration plus a margin, even if the harness is gone.

Slow disk: the voters' data directories live on an ext4 file system in a file (DISK_IMAGE),
loop-mounted for the run; a slow-disk step moves voters into the blkio cgroup SLOW_CGROUP (cgroup
v1), whose write IOPS on that loop device are throttled (blkio.throttle.write_iops_device), so
every fdatasync of theirs waits. Moving them back to the root cgroup heals it. Measured on the
machine this was written on: fdatasync of 4 KiB on the loop device 2-4 ms median, 285 ms median
at 4 writes a second.
"""

import os
import signal
import subprocess

from rosterkit.netns import run
from rosterkit.procs import processes_with_arg
from rosterkit.waiting import WaitTimeout, wait_for

MARKER = "rch-hog"
BLKIO = "/sys/fs/cgroup/blkio"
SLOW_CGROUP = os.path.join(BLKIO, "rch-slow")
DISK_IMAGE = "rch-disk.img"
SLOW_WRITE_IOPS = 4
HOGS_PER_CPU = 2
HOG_NICE = -10
HOG = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


def cpus_of(pids):
    """The union of the CPUs these processes may run on (Cpus_allowed_list)."""
    cpus = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("Cpus_allowed_list:"):
                        for part in line.split(":", 1)[1].strip().split(","):
                            lo, _, hi = part.partition("-")
                            cpus.update(range(int(lo), int(hi or lo) + 1))
        except OSError:
            continue
    return sorted(cpus) or list(range(os.cpu_count() or 1))


class CpuHogs:
    def __init__(self, python):
        self.python = python
        self.procs = []

    def start(self, cpus, seconds):
        for cpu in cpus:
            for _ in range(HOGS_PER_CPU):
                self.procs.append(subprocess.Popen(
                    ["taskset", "-c", str(cpu), "nice", "-n", str(HOG_NICE), self.python, "-c", HOG,
                     str(seconds + 5), MARKER], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, start_new_session=True))
        return len(self.procs)

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs:
            p.wait(timeout=10)
        self.procs = []


class SlowDisk:
    """A loop-mounted ext4 for the voters' data, and the cgroup that throttles its writes."""

    def __init__(self, workdir, mountpoint, size_mb=256, log=print):
        self.image = os.path.join(workdir, DISK_IMAGE)
        self.mountpoint = mountpoint
        self.size_mb = size_mb
        self.log = log
        self.device = None
        self.slowed = []

    @staticmethod
    def possible():
        """'' if this machine can: cgroup v1 blkio with throttling, loop devices, mkfs.ext4;
        else why not."""
        if not os.path.exists(os.path.join(BLKIO, "blkio.throttle.write_iops_device")):
            return f"no cgroup v1 blkio throttling at {BLKIO}"
        if not os.path.exists("/dev/loop-control"):
            return "no loop devices (/dev/loop-control)"
        for tool in ("losetup", "mkfs.ext4", "mount", "umount"):
            if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
                return f"no {tool}"
        return ""

    def setup(self):
        with open(self.image, "wb") as f:
            f.truncate(self.size_mb << 20)
        run(["mkfs.ext4", "-q", "-F", self.image])
        self.device = run(["losetup", "--find", "--show", self.image]).stdout.strip()
        os.makedirs(self.mountpoint, exist_ok=True)
        run(["mount", self.device, self.mountpoint])
        with open(f"/sys/class/block/{os.path.basename(self.device)}/dev") as f:
            majmin = f.read().strip()
        os.makedirs(SLOW_CGROUP, exist_ok=True)
        with open(os.path.join(SLOW_CGROUP, "blkio.throttle.write_iops_device"), "w") as f:
            f.write(f"{majmin} {SLOW_WRITE_IOPS}\n")
        self.log(f"voters' data on {self.device} ({self.image}, ext4, mounted at {self.mountpoint}); "
                 f"slow-disk steps throttle it to {SLOW_WRITE_IOPS} writes/s")

    def slow(self, pids):
        for pid in pids:
            _move(pid, SLOW_CGROUP)
        self.slowed = list(pids)

    def heal(self):
        for pid in self.slowed:
            _move(pid, BLKIO)
        self.slowed = []

    def teardown(self):
        self.heal()
        _remove_cgroup(self.log)
        if self.device:
            run(["umount", self.mountpoint], check=False)
            run(["losetup", "-d", self.device], check=False)
            self.device = None


def _move(pid, cgroup):
    try:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(f"{pid}\n")
    except (ProcessLookupError, OSError):
        pass  # gone already


def _remove_cgroup(log):
    if not os.path.isdir(SLOW_CGROUP):
        return
    try:
        with open(os.path.join(SLOW_CGROUP, "cgroup.procs")) as f:
            pids = [int(x) for x in f.read().split()]
    except OSError:
        pids = []
    for pid in pids:
        _move(pid, BLKIO)

    def removed():
        os.rmdir(SLOW_CGROUP)  # EBUSY until the kernel has let go of the moved processes
        return True
    try:
        wait_for(f"{SLOW_CGROUP} to be removable", removed, 5, 0.1)
    except WaitTimeout as e:
        log(f"warning: {e}")


def cleanup_leftovers(log=print):
    """What a killed run left: busy loops (by MARKER), the throttling cgroup, loop mounts of a
    DISK_IMAGE (unmounted, detached). Only this harness makes such names; the caller holds its lock."""
    hogs = processes_with_arg(MARKER)
    for pid in hogs:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if hogs:
        log(f"killed leftover busy loops: {hogs}")
    _remove_cgroup(log)
    r = run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"], check=False)
    for line in r.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and os.path.basename(parts[1].strip().replace(" (deleted)", "")) == DISK_IMAGE:
            dev = parts[0]
            mounts = run(["findmnt", "--noheadings", "--output", "TARGET", "--source", dev], check=False)
            for target in mounts.stdout.split():
                run(["umount", "-l", target], check=False)
            run(["losetup", "-d", dev], check=False)
            log(f"removed leftover loop device {dev} ({parts[1].strip()})")
