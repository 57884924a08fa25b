"""Per-cluster TLS credentials: every Dask cluster gets its own certificate authority.

Schedulers, workers and clients of one cluster share one freshly made RSA key and self-signed
certificate, made with ``cryptography`` as distributed's ``Security.temporary`` makes them (the
compute service runs inside the hub, which does not load distributed to make them), and TLS is
mutual: a peer without that
certificate is refused at the handshake. Credentials live in memory, or in files only their
owner can read (0600, in a 0700 directory).

>>> creds = ClusterCredentials.new()
>>> creds.security().require_encryption
True
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
        key, cert = _self_signed("dask-internal")
        return cls(ca=cert, cert=cert, key=key)

    def security(self) -> Security:
        """A ``Security`` for any role of the cluster (TLS required, peers verified)."""
        from distributed.security import Security

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


def _self_signed(name: str, days: int = 365) -> tuple[str, str]:
    """A new 2048-bit RSA key and a certificate for ``name`` signed by it, as PEM texts."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem.decode(), cert.public_bytes(serialization.Encoding.PEM).decode()
