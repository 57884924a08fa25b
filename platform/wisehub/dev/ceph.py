"""A throw-away single-node Ceph (mon, memstore OSD, RADOS Gateway) on 127.0.0.1.

Everything lives under one directory: config, keyring, daemon data, logs and a ``state.json``
that lets another process (``wisehub dev ceph down``) find and stop the daemons. The RGW
answers S3 on a free loopback port; an admin S3 user (with RGW admin-API caps) is created at
start. Facts and settings: ``shared/notes/ceph-rgw.md``.

In a script (the test session starts one cluster this way)::

    with ceph_cluster() as ceph:
        ceph.endpoint_url  # 'http://127.0.0.1:...'
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from wisehub.storage.credentials import S3Credentials
from wisehub.storage.s3 import s3_env

DAEMONS = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "ceph-authtool",
           "monmaptool")
RGW_NAME = "client.rgw.a"
ADMIN_UID = "wisehub-admin"
_SOCKET_PATH_MAX = 100  # admin sockets are AF_UNIX: the path must stay under 107 bytes


class CephError(RuntimeError):
    """The development Ceph could not be started or driven; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing_binaries() -> list[str]:
    """Ceph programs this module needs that are not on ``PATH`` (empty when all are there).

    >>> isinstance(missing_binaries(), list)
    True
    """
    return [name for name in DAEMONS if shutil.which(name) is None]


@dataclass
class CephCluster:
    """A running development cluster: where it lives, its RGW endpoint and its admin user."""

    directory: Path
    mon_ports: tuple[int, int]
    rgw_port: int
    admin: S3Credentials
    pids: dict[str, int] = field(default_factory=dict)
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    @property
    def endpoint_url(self) -> str:
        """The S3 endpoint, e.g. ``http://127.0.0.1:7480``."""
        return f"http://127.0.0.1:{self.rgw_port}"

    @property
    def conf(self) -> Path:
        """The cluster's ``ceph.conf`` (pass it as ``-c`` to any ceph tool)."""
        return self.directory / "ceph.conf"

    def env(self, credentials: S3Credentials | None = None,
            bucket: str = "wisehub") -> dict[str, str]:
        """Env vars pointing wisehub and catalogues at this RGW (as the admin by default)."""
        return s3_env(self.endpoint_url, credentials or self.admin, bucket)

    # -- commands -------------------------------------------------------------------------

    def run(self, *args: str, timeout: float = 60) -> str:
        """Run a ceph tool (``ceph``, ``radosgw-admin``, …) against this cluster; return stdout."""
        cmd = [args[0], "-c", str(self.conf), *args[1:]]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise CephError(f"{' '.join(args[:3])} timed out after {timeout} s; "
                            f"see logs in {self.directory}") from None
        if done.returncode != 0:
            raise CephError(f"{' '.join(args[:3])} failed ({done.returncode}): "
                            f"{done.stderr.strip()[-500:]}")
        return done.stdout

    def create_s3_user(self, uid: str, *, caps: str | None = None) -> S3Credentials:
        """Create an RGW user with fresh keys (``caps`` e.g. ``"users=*;buckets=*"``)."""
        creds = S3Credentials(secrets.token_hex(10).upper(), secrets.token_urlsafe(30))
        self.run("radosgw-admin", "user", "create", "--uid", uid, "--display-name", uid,
                 "--access-key", creds.access_key, "--secret-key", creds.secret_key)
        if caps:
            self.run("radosgw-admin", "caps", "add", "--uid", uid, "--caps", caps)
        return creds

    # -- daemons --------------------------------------------------------------------------

    def _spawn(self, name: str, *args: str, detach: bool) -> None:
        log = open(self.directory / f"{name}.out", "ab")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen([*args, "-c", str(self.conf), "-f"], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=detach)
        log.close()
        self._procs[name] = proc
        self.pids[name] = proc.pid

    def start_rgw(self, *, detach: bool = False, timeout: float = 60) -> None:
        """Start (or restart) the RADOS Gateway and wait until it answers S3."""
        if not _port_free(self.rgw_port):
            raise CephError(f"port {self.rgw_port} for RGW is taken by another program")
        self._spawn("rgw", "radosgw", "-n", RGW_NAME, detach=detach)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self._procs["rgw"]
            if proc.poll() is not None:
                raise CephError(f"radosgw exited ({proc.returncode}); see {self.directory}/rgw.out")
            if _answers(self.endpoint_url):
                return
            time.sleep(0.05)
        raise CephError(f"radosgw did not answer on {self.endpoint_url} within {timeout} s")

    def stop_rgw(self) -> None:
        """Kill the RADOS Gateway (to test what clients do when S3 goes away)."""
        self._kill("rgw")

    def _kill(self, name: str) -> None:
        pid = self.pids.pop(name, None)
        proc = self._procs.pop(name, None)
        if pid is None:
            return
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if proc is not None:
            proc.wait()
        else:
            _wait_gone(pid)

    def stop(self) -> None:
        """Kill every daemon, wait until each is really gone, and remove the directory."""
        try:
            for name in ("rgw", "osd", "mon"):
                self._kill(name)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- state for other processes --------------------------------------------------------

    def save_state(self) -> None:
        """Write ``state.json`` so that another process can find (and stop) this cluster."""
        state = {"mon_ports": self.mon_ports, "rgw_port": self.rgw_port, "pids": self.pids,
                 "admin": {"access_key": self.admin.access_key,
                           "secret_key": self.admin.secret_key}}
        path = self.directory / "state.json"
        path.write_text(json.dumps(state))
        path.chmod(0o600)

    @classmethod
    def load(cls, directory: Path) -> CephCluster:
        """The cluster whose ``state.json`` is in ``directory``."""
        try:
            state = json.loads((directory / "state.json").read_text())
        except FileNotFoundError:
            raise CephError(f"no development Ceph in {directory} (no state.json); "
                            "start one with `wisehub dev ceph up`") from None
        return cls(directory, tuple(state["mon_ports"]), state["rgw_port"],
                   S3Credentials(**state["admin"]), state["pids"])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As servers do, so that connections in TIME_WAIT do not count as "taken".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_gone(pid: int, timeout: float = 30) -> None:
    """Wait until ``pid`` has exited with all its threads (a zombie leader can still hold ports)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return
        if state == "Z" and len(tasks) <= 1:
            return
        time.sleep(0.02)
    raise CephError(f"process {pid} did not exit within {timeout} s")


def _config(d: Path, mon_ports: tuple[int, int], rgw_port: int, memstore_bytes: int) -> str:
    mon_host = f"[v2:127.0.0.1:{mon_ports[0]},v1:127.0.0.1:{mon_ports[1]}]"
    return f"""\
[global]
fsid = {uuid.uuid4()}
mon_host = {mon_host}
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_port_min = 6800
ms_bind_port_max = 7300
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
keyring = {d}/keyring
run_dir = {d}
admin_socket = {d}/$name.asok
pid_file = {d}/$name.pid
log_file = {d}/$name.log
mon_cluster_log_file = {d}/cluster.log
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_allow_pool_delete = true
mon_data_avail_crit = 0
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
[mon]
mon_data = {d}/mon.$id
[osd]
osd_data = {d}/osd.$id
osd_objectstore = memstore
memstore_device_bytes = {memstore_bytes}
[client.admin]
admin_socket =
[{RGW_NAME}]
; tcp_nodelay: without it, every response with a body (GET, LIST, COPY, DELETE) waited
; 40 ms for the client's delayed ACK (Nagle), e.g. a small GET 44 ms instead of 3 ms
rgw_frontends = beast endpoint=127.0.0.1:{rgw_port} tcp_nodelay=1
rgw_gc_obj_min_wait = 0
rgw_gc_processor_period = 10
; quotas are checked against fresh bucket stats, so a full quota fails the next write
rgw_bucket_quota_ttl = 0
; not 0: the stats-sync threads then spin, and an idle RGW and OSD took 75 % of 2 cores
rgw_user_quota_bucket_sync_interval = 1
rgw_user_quota_sync_interval = 1
"""


def start_ceph(directory: Path | None = None, *, memstore_bytes: int = 4 << 30,
               detach: bool = False) -> CephCluster:
    """Start a cluster under ``directory`` (a new temp dir by default) and return it.

    ``memstore_bytes`` bounds what the OSD holds in RAM (a full OSD makes writes hang, so size
    it well above what you store). ``detach`` starts the daemons in their own session, so they
    outlive this process (for ``wisehub dev ceph up``). On failure nothing is left running.
    """
    if missing := missing_binaries():
        raise CephError(f"Ceph programs not found: {', '.join(missing)}; install them with "
                        "`apt-get install ceph-mon ceph-osd radosgw ceph-common`")
    d = Path(directory or tempfile.mkdtemp(prefix="wh-ceph-", dir="/tmp")).absolute()
    if len(str(d / "client.rgw.a.asok")) > _SOCKET_PATH_MAX:
        raise CephError(f"{d} is too long for Ceph's admin sockets; choose a shorter directory")
    if (d / "state.json").exists():
        raise CephError(f"a development Ceph already runs in {d}; stop it with "
                        "`wisehub dev ceph down` first")
    d.mkdir(parents=True, exist_ok=True)
    mon_ports = (_free_port(), _free_port())
    cluster = CephCluster(d, mon_ports, _free_port(), S3Credentials("", ""))
    try:
        _bootstrap(cluster, memstore_bytes, detach)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _bootstrap(cluster: CephCluster, memstore_bytes: int, detach: bool) -> None:
    d = cluster.directory
    cluster.conf.write_text(_config(d, cluster.mon_ports, cluster.rgw_port, memstore_bytes))
    keyring = str(d / "keyring")
    caps = {
        "mon.": ["mon", "allow *"],
        "client.admin": ["mon", "allow *", "osd", "allow *", "mgr", "allow *"],
        "osd.0": ["mon", "allow profile osd", "osd", "allow *", "mgr", "allow profile osd"],
        RGW_NAME: ["mon", "allow rw", "osd", "allow rwx", "mgr", "allow rw"],
    }
    for number, (name, cap) in enumerate(caps.items()):
        args = ["--create-keyring"] if number == 0 else []
        for kind, value in zip(cap[::2], cap[1::2], strict=True):
            args += ["--cap", kind, value]
        _tool("ceph-authtool", keyring, *args, "--gen-key", "-n", name)
    fsid = next(line.split("=", 1)[1].strip() for line in cluster.conf.read_text().splitlines()
                if line.startswith("fsid"))
    v2, v1 = cluster.mon_ports
    _tool("monmaptool", "--create", "--fsid", fsid, "--addv", "a",
          f"[v2:127.0.0.1:{v2},v1:127.0.0.1:{v1}]", str(d / "monmap"))
    cluster.run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(d / "monmap"),
                "--keyring", keyring)
    cluster._spawn("mon", "ceph-mon", "-i", "a", detach=detach)
    osd_uuid = str(uuid.uuid4())
    osd_id = cluster.run("ceph", "--connect-timeout", "30", "osd", "new", osd_uuid).strip()
    (d / f"osd.{osd_id}").mkdir()
    cluster.run("ceph-osd", "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid)
    if (d / f"osd.{osd_id}" / "type").read_text().strip() != "memstore":
        raise CephError("the OSD was not created on memstore; check ceph.conf")
    cluster._spawn("osd", "ceph-osd", "-i", osd_id, detach=detach)
    cluster.start_rgw(detach=detach)
    cluster.admin = cluster.create_s3_user(
        ADMIN_UID, caps="users=*;buckets=*;usage=read;metadata=read")
    cluster.save_state()


def _tool(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CephError(f"{args[0]} failed: {done.stderr.strip()[-500:]}")


@contextmanager
def ceph_cluster(directory: Path | None = None, **kwargs: int) -> Iterator[CephCluster]:
    """A cluster for the duration of a ``with`` block, torn down in ``finally``."""
    cluster = start_ceph(directory, **kwargs)
    try:
        yield cluster
    finally:
        cluster.stop()
