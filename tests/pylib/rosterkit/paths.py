"""Where things are: the repository, the built binaries (ROSTER_BIN overrides), Debian's python3."""

import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
BIN = os.environ.get("ROSTER_BIN", os.path.join(ROOT, "build", "bin"))
# The peers' clients (kazoo, etcd3) and matplotlib are Debian packages: always Debian's python.
PYTHON = "/usr/bin/python3"


def binary(name):
    """The path of a built roster program (rosterd, rosterctl, commit_probe, ...)."""
    return os.path.join(BIN, name)
