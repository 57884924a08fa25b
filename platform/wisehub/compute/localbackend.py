"""The local backend: Dask scheduler and worker processes on this machine, started and
supervised by the compute service.

Each cluster has a runtime directory (0700; TLS files 0600) holding its credentials, scheduler
file and logs. Processes run in the service's Python environment, in their own sessions, so a
service restart leaves them running to be rediscovered. With ``run_as`` (system-users mode,
service running as root) they run as the owner's OS account, which also owns the directory.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import psutil

from wisehub.compute.backend import BackendError
from wisehub.compute.records import ClusterRecord, RecordStore
from wisehub.compute.security import ClusterCredentials
from wisehub.hub.credentials import LINEAGE_URL_ENV
from wisehub.hub.ports import Ports
from wisehub.processes import ProcessStamp

log = logging.getLogger("wisehub.compute")

_DETACHED = ("import subprocess, sys; print(subprocess.Popen(sys.argv[2:], "
             "stdin=subprocess.DEVNULL, stdout=int(sys.argv[1]), stderr=subprocess.STDOUT, "
             "start_new_session=True).pid)")


SERVICE_ONLY = ("JUPYTERHUB_", "WISEHUB_COMPUTE_")
"""Variables of the service's own environment that never reach a cluster: its hub token and
its configuration. User code runs on the workers (as the owner, with system users)."""


def cluster_environment(service_environment: Mapping[str, str]) -> dict[str, str]:
    """The environment a cluster's processes start with: the service's, without its hub
    credentials and, when the lineage store is PostgreSQL, without the URL of the tables'
    owner (the owner's store reaches workers pickled, with the owner's own role).

    >>> env = cluster_environment({"PATH": "/bin", "JUPYTERHUB_API_TOKEN": "secret",
    ...                            "WISEHUB_LINEAGE_DB_URL": "postgresql://hub:pw@db/l"})
    >>> sorted(env)
    ['PATH']
    """
    env = {k: v for k, v in service_environment.items() if not k.startswith(SERVICE_ONLY)}
    if env.get(LINEAGE_URL_ENV, "").startswith("postgresql"):
        del env[LINEAGE_URL_ENV]
    return env


def alive(process: ProcessStamp | None) -> bool:
    """Whether ``process`` is recorded and still runs (the same process, not a reused pid).

    >>> alive(ProcessStamp.of(os.getpid())), alive(None)
    (True, False)
    """
    return process is not None and process.running()


def end(processes: list[ProcessStamp], grace: float = 5) -> None:
    """Terminate ``processes`` (only those still ours), killing what outlives ``grace``."""
    found = []
    for process in processes:
        if alive(process):
            try:
                found.append(psutil.Process(process.pid))
            except psutil.NoSuchProcess:
                continue
    for each in found:
        try:
            each.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            continue
    _, left = psutil.wait_procs(found, timeout=grace)
    for each in left:
        try:
            each.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(left, timeout=grace)


def _open_log(path: Path) -> BinaryIO:
    """Open a process log for appending, refusing anything but a plain file of one link: the
    directory belongs to the cluster's owner, who must not redirect the service's writes."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    except OSError as err:
        if err.errno != errno.ELOOP:
            raise
        raise BackendError(f"{path} is not a plain file (a symlink); refusing to write to it"
                           ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        raise BackendError(f"{path} is not a plain file; refusing to write to it")
    return os.fdopen(fd, "ab")


def _read_scheduler_file(path: Path) -> dict | None:
    """The scheduler's file once it is completely written (None before)."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _worker_number(name: str) -> int:
    return int(name.rsplit("-w", 1)[1])


class LocalBackend:
    """Start, scale, supervise and stop clusters as local processes under ``root``; talk to
    their schedulers with the credentials kept in ``store``."""

    def __init__(self, root: Path, store: RecordStore,
                 environment: dict[str, str] | None = None, run_as_owner: bool = False) -> None:
        self.root = root
        self.store = store
        root.mkdir(mode=0o711 if run_as_owner else 0o700, parents=True, exist_ok=True)
        root.chmod(0o711 if run_as_owner else 0o700)
        self.environment = cluster_environment({**os.environ, **(environment or {})})
        self.run_as_owner = run_as_owner
        self.ports = Ports()  # never the same port to two schedulers starting together

    def directory(self, record: ClusterRecord) -> Path:
        """The cluster's runtime directory."""
        return self.root / record.id

    def _account(self, owner: str) -> tuple[int, int] | None:
        if not self.run_as_owner:
            return None
        entry = pwd.getpwnam(owner)
        return entry.pw_uid, entry.pw_gid

    def _spawn(self, record: ClusterRecord, args: list[str], log_name: str) -> ProcessStamp:
        directory = self.directory(record)
        account = self._account(record.owner)
        env = dict(self.environment)
        kwargs: dict = {}
        if account is not None:
            entry = pwd.getpwuid(account[0])
            env.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name)
            kwargs = {"user": account[0], "group": account[1],
                      "extra_groups": os.getgrouplist(entry.pw_name, account[1])}
        with _open_log(directory / log_name) as out:
            if account is not None:
                os.fchown(out.fileno(), *account)
            if record.job is not None:
                # A batch job's cluster outlives a stop of the hub (which ends the hub's
                # descendants): a helper starts it and exits, so it belongs to nobody.
                helper = subprocess.run(
                    [sys.executable, "-I", "-c", _DETACHED, str(out.fileno()), sys.executable,
                     "-m", *args], pass_fds=(out.fileno(),), cwd=directory, env=env,
                    stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True,
                    timeout=60, **kwargs)
                pid = int(helper.stdout)
            else:
                pid = subprocess.Popen([sys.executable, "-m", *args], cwd=directory, env=env,
                                       stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       **kwargs).pid
        return ProcessStamp.of(pid)

    def _tls_args(self, record: ClusterRecord) -> list[str]:
        tls = self.directory(record) / "tls"
        return ["--tls-ca-file", str(tls / "ca.pem"), "--tls-cert", str(tls / "cert.pem"),
                "--tls-key", str(tls / "key.pem")]

    async def start(self, record: ClusterRecord, credentials: ClusterCredentials,
                    dashboard_prefix: str) -> None:
        """Start the scheduler and ``record.workers`` workers; return once it is up."""
        await self.start_scheduler(record, credentials, dashboard_prefix,
                                   workers=[f"{record.id}-w{i}" for i in range(record.workers)])

    async def start_scheduler(self, record: ClusterRecord, credentials: ClusterCredentials,
                              dashboard_prefix: str, workers: Sequence[str] = (),
                              timeout: float = 180) -> None:
        """Start the scheduler (TLS only, idle timeout on) and, at the same time, the named
        ``workers`` (its port is chosen first, so nobody waits for another's imports); fill in
        address and dashboard once the scheduler is up."""
        directory = self.directory(record)
        account = self._account(record.owner)
        directory.mkdir(mode=0o700)
        if account is not None:
            os.chown(directory, *account)
        credentials.write(directory / "tls", owner=account)
        scheduler_file = directory / "scheduler.json"
        port = self.ports.take()
        record.scheduler = self._spawn(record, [
            "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
            "--protocol", "tls", *self._tls_args(record),
            "--dashboard-address", "127.0.0.1:0", "--dashboard-prefix", dashboard_prefix,
            "--scheduler-file", str(scheduler_file),
            "--idle-timeout", f"{record.idle_timeout}s"], "scheduler.log")
        record.address = f"tls://127.0.0.1:{port}"
        for name in workers:
            self.start_worker(record, name)
        deadline = time.monotonic() + timeout
        while (info := _read_scheduler_file(scheduler_file)) is None:
            if not alive(record.scheduler) or time.monotonic() > deadline:
                end([record.scheduler, *record.worker_processes.values()])
                record.worker_processes.clear()
                raise BackendError(f"the scheduler of {record.id} did not start; see "
                                   f"{directory / 'scheduler.log'}")
            await asyncio.sleep(0.05)
        record.address = info["address"]
        record.dashboard_port = info["services"].get("dashboard")

    def start_worker(self, record: ClusterRecord, name: str) -> None:
        """Start worker ``name`` of the cluster (no nanny: the service supervises)."""
        assert record.address is not None
        record.worker_processes[name] = self._spawn(record, [
            "distributed.cli.dask_worker", record.address, "--name", name, "--no-nanny",
            "--host", "127.0.0.1", "--protocol", "tls", *self._tls_args(record),
            "--nthreads", str(max(1, int(record.worker_cores))),
            "--memory-limit", str(record.worker_memory),
            "--local-directory", str(self.directory(record) / "work"),
            "--death-timeout", "30"], f"{name}.log")

    def stop_workers(self, record: ClusterRecord, names: list[str]) -> None:
        """Stop the named workers of a cluster."""
        end([record.worker_processes.pop(n) for n in names if n in record.worker_processes])

    def _stop_now(self, record: ClusterRecord) -> None:
        end([*record.worker_processes.values(), *([record.scheduler] if record.scheduler
                                                   else [])])
        record.worker_processes.clear()
        shutil.rmtree(self.directory(record), ignore_errors=True)

    async def stop(self, record: ClusterRecord) -> None:
        """Stop every process of the cluster and remove its directory."""
        await asyncio.to_thread(self._stop_now, record)

    async def scale(self, record: ClusterRecord) -> None:
        """Start or retire workers to reach ``record.workers`` (adaptive: the manager sets
        it within bounds, and :meth:`supervise` follows the scheduler's wish)."""
        running = sorted(record.worker_processes, key=_worker_number)
        target = record.workers
        if target > len(running):
            for _ in range(target - len(running)):
                numbers = [_worker_number(n) for n in record.worker_processes]
                self.start_worker(record, f"{record.id}-w{max(numbers, default=-1) + 1}")
        elif target < len(running):
            names = await self._scheduler_call(record, "workers_to_close",
                                               n=len(running) - target, attribute="name")
            names = [n for n in (names or []) if n in record.worker_processes]
            names += [n for n in reversed(running) if n not in names][
                :len(running) - target - len(names)]
            await self._scheduler_call(record, "retire_workers", names=names,
                                       close_workers=True)
            await asyncio.to_thread(self.stop_workers, record, names)
        self.store.save(record)

    async def ended(self, records: list[ClusterRecord]) -> set[str]:
        """Clusters whose scheduler process ended (its idle timeout, or a crash)."""
        return {r.id for r in records if not alive(r.scheduler)}

    async def supervise(self, record: ClusterRecord) -> None:
        """Restart dead workers; follow the scheduler's adaptive target within bounds."""
        for name, process in list(record.worker_processes.items()):
            if not alive(process):
                log.info("restarting worker %s", name)
                del record.worker_processes[name]
                self.start_worker(record, name)
                self.store.save(record)
        if not record.adaptive:
            return
        wanted = await self._scheduler_call(record, "adaptive_target")
        if not isinstance(wanted, int):
            return
        target = min(max(wanted, record.adaptive["minimum"]), record.adaptive["maximum"])
        if target != len(record.worker_processes):
            record.workers = target
            await self.scale(record)

    async def rediscover(self, store: RecordStore
                         ) -> tuple[list[ClusterRecord], list[ClusterRecord]]:
        """Records of a previous run: those whose scheduler still runs, and the rest."""
        records = store.load()
        live = [r for r in records if r.status == "running" and alive(r.scheduler)]
        return live, [r for r in records if r not in live]

    def dashboard_url(self, record: ClusterRecord) -> str | None:
        """The scheduler's dashboard on the loopback."""
        return f"http://127.0.0.1:{record.dashboard_port}" if record.dashboard_port else None

    async def _scheduler_call(self, record: ClusterRecord, method: str, **kwargs: object
                              ) -> object:
        from distributed.core import rpc  # only once a cluster is scaled: the hub stays light

        assert record.address is not None
        args = self.store.credentials(record.id).security().get_connection_args("client")
        try:
            async with rpc(record.address, connection_args=args, timeout=10) as scheduler:
                return await asyncio.wait_for(getattr(scheduler, method)(**kwargs), 30)
        except (OSError, TimeoutError) as err:
            log.warning("scheduler of %s: %s failed: %s", record.id, method, err)
            return None
