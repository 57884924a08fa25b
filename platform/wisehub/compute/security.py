"""Per-cluster TLS credentials: every Dask cluster gets its own certificate authority.

Schedulers, workers and clients of one cluster share one freshly made key and self-signed
certificate (distributed's ``Security.temporary``), and TLS is mutual: a peer without that
certificate is refused at the handshake. Credentials live in memory, or in files only their
owner can read (0600, in a 0700 directory).

>>> creds = ClusterCredentials.new()
>>> creds.security().require_encryption
True
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from distributed.security import Security

FILES = {"ca": "ca.pem", "cert": "cert.pem", "key": "key.pem"}


@dataclass(frozen=True)
class ClusterCredentials:
    """The PEM texts of one cluster's CA, certificate and key."""

    ca: str
    cert: str
    key: str

    @classmethod
    def new(cls) -> ClusterCredentials:
        """Fresh credentials for a new cluster."""
        temporary = Security.temporary()
        return cls(ca=temporary.tls_ca_file, cert=temporary.tls_client_cert,
                   key=temporary.tls_client_key)

    def security(self) -> Security:
        """A ``Security`` for any role of the cluster (TLS required, peers verified)."""
        roles = {}
        for role in ("client", "scheduler", "worker"):
            roles[f"tls_{role}_cert"] = self.cert
            roles[f"tls_{role}_key"] = self.key
        return Security(tls_ca_file=self.ca, require_encryption=True, **roles)

    def as_dict(self) -> dict[str, str]:
        """The credentials as JSON-able data (to hand to the cluster's owner only)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> ClusterCredentials:
        """Credentials from :meth:`as_dict` data."""
        return cls(ca=data["ca"], cert=data["cert"], key=data["key"])

    def write(self, directory: Path, owner: tuple[int, int] | None = None) -> dict[str, Path]:
        """Write the PEM files into ``directory`` (made 0700), each 0600; return their paths.

        ``owner`` (uid, gid) hands directory and files to that account (the service runs as
        root in system-users mode, the cluster's processes as the user).

        >>> import tempfile
        >>> paths = ClusterCredentials.new().write(Path(tempfile.mkdtemp()) / "tls")
        >>> oct(paths["key"].stat().st_mode & 0o777)
        '0o600'
        """
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
        paths = {}
        for field, name in FILES.items():
            path = directory / name
            write_private(path, getattr(self, field))
            paths[field] = path
        if owner is not None:
            for path in [directory, *paths.values()]:
                os.chown(path, *owner)
        return paths


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file created 0600 (never readable by others, not even briefly).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "secret"
    >>> write_private(target, "x"); oct(target.stat().st_mode & 0o777)
    '0o600'
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)


def write_private_json(path: Path, data: object) -> None:
    """:func:`write_private` of ``data`` as JSON, replaced atomically."""
    partial = path.with_name(path.name + ".partial")
    write_private(partial, json.dumps(data))
    partial.replace(path)

