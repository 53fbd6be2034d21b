"""CurveZMQ keys for secured clusters, in the files rosterd and rosterctl read
(/work/notes/issue13-contract.md, docs/security.md):

    PATH       the secret key, Z85 (40 characters) and a newline, mode 0600   (--key-file PATH)
    PATH.pub   the public key, Z85 and a newline

and the --authorized-keys file: one `PUBLIC ROLE [NAME]` a line (`member NAME`, `reader`,
`admin`), `#` comments. pyzmq's zmq.curve_keypair() makes the keys, as `rosterctl keygen` would
(make_key), or `rosterctl keygen` itself does (rosterctl_keygen).
"""

import os
import subprocess

import zmq

from .paths import binary


class Key:
    """A CurveZMQ key pair (Z85 text); path is where its key file is (None if never written)."""

    def __init__(self, name, public, secret, path=None):
        self.name, self.public, self.secret, self.path = name, public, secret, path

    def __repr__(self):
        return f"Key({self.name}, {self.public})"

    @classmethod
    def fresh(cls, name):
        """A new key pair that no file lists: what an outsider makes for itself."""
        public, secret = zmq.curve_keypair()
        return cls(name, public.decode(), secret.decode())

    @classmethod
    def read(cls, path, name=None):
        """The key pair of the key file at path (the secret) and PATH.pub (the public key)."""
        with open(path) as f:
            secret = f.read().strip()
        with open(path + ".pub") as f:
            public = f.read().strip()
        return cls(name, public, secret, path)

    def write(self, path):
        """Writes the key file (secret, mode 0600) and PATH.pub; returns self."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.secret + "\n")
        os.chmod(path, 0o600)
        with open(path + ".pub", "w") as f:
            f.write(self.public + "\n")
        self.path = path
        return self


def make_key(directory, name):
    """A fresh key written to DIRECTORY/NAME.key (and .key.pub)."""
    os.makedirs(directory, exist_ok=True)
    return Key.fresh(name).write(os.path.join(directory, f"{name}.key"))


def rosterctl_keygen(directory, name):
    """A fresh key made by `rosterctl keygen DIRECTORY/NAME.key` (as an operator makes one:
    README, docs/security.md), read back from its files."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}.key")
    r = subprocess.run([binary("rosterctl"), "keygen", path], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"rosterctl keygen {path}: exit {r.returncode}: {r.stderr.strip()}")
    return Key.read(path, name)


def authorized_line(key, role, name=None):
    return f"{key.public} {role}" + (f" {name}" if name else "")


def write_authorized_keys(path, lines, comment="written by rosterkit"):
    """Replaces the --authorized-keys file at once (a reader never sees half of it)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"# {comment}\n" + "".join(line + "\n" for line in lines))
    os.replace(tmp, path)
