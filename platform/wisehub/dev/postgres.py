"""A throw-away PostgreSQL cluster (Debian's ``initdb`` + ``pg_ctl``) on 127.0.0.1.

The cluster lives under one temporary directory and listens on a free loopback port. TCP
logins need a password (SCRAM), as in production, so a user's role cannot be entered without
its own password; the superuser's is random and in :meth:`PostgresServer.url`. Only the
server's own socket directory, inside the temporary directory, trusts local logins. As root,
the server runs as the ``postgres`` OS user (PostgreSQL refuses to run as root).
``create_database()`` gives each test its own database.

Run it by hand with ``python -m wisehub.dev.postgres``: it prints the SQLAlchemy URL and
stops on Ctrl-C.

In a script (the test session starts one server this way)::

    with postgres_server() as pg:
        pg.url("postgres")  # 'postgresql+psycopg://wisehub:...@127.0.0.1:.../postgres'
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "wisehub"


class PostgresError(RuntimeError):
    """The development PostgreSQL could not be started; the message says why."""


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest Debian version first)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                        reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PostgresError("PostgreSQL server binaries (initdb, pg_ctl) not found; install them "
                        "with `apt-get install -y postgresql` (or `make test` does it)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> list[str]:
    """The command prefix that drops root to the ``postgres`` user (nothing otherwise)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresError("running as root needs a 'postgres' OS user to run the server; "
                            "create one with `useradd --system postgres`") from None
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PostgresServer:
    """A running throw-away cluster: its directory and port."""

    directory: Path
    port: int
    bindir: Path
    password: str = ""

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database in this cluster, as the superuser."""
        return (f"postgresql+psycopg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/"
                f"{database}")

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh database and return its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER,
                             password=self.password, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server immediately and remove its directory."""
        subprocess.run([*_run_as(), str(self.bindir / "pg_ctl"), "-D",
                        str(self.directory / "data"), "-m", "immediate", "-w", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres(base: str | Path | None = None) -> PostgresServer:
    """Initialise and start a cluster under a new temporary directory; return it."""
    bindir = find_bindir()
    prefix = _run_as()
    directory = Path(tempfile.mkdtemp(prefix="wisehub-pg-", dir=base))
    if prefix:
        shutil.chown(directory, "postgres", "postgres")
    data, port = directory / "data", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(directory, ignore_errors=True)
            raise PostgresError(f"{Path(args[0]).name} failed ({done.returncode}): "
                                f"{(done.stderr or done.stdout).strip()[-2000:]}")

    password = secrets.token_urlsafe(16)
    pwfile = directory / "superuser.pw"
    pwfile.write_text(password)
    if prefix:
        shutil.chown(pwfile, "postgres", "postgres")
    pwfile.chmod(0o600)
    run(str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}",
        "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync",
        "--locale=C")
    pwfile.unlink()
    options = (f"-h 127.0.0.1 -p {port} -k {directory} -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"),
        "-o", options, "-w", "-t", "60", "start")
    return PostgresServer(directory, port, bindir, password)


@contextmanager
def postgres_server(base: str | Path | None = None) -> Iterator[PostgresServer]:
    """A cluster for the duration of the block, stopped and removed in any case."""
    server = start_postgres(base)
    try:
        yield server
    finally:
        server.stop()


def main() -> None:
    """Start a cluster, print its URL, and stop it on Ctrl-C."""
    import time

    with postgres_server() as server:
        print(server.url(), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
