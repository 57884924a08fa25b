"""``wisehub dev``: throw-away real services for development. Each service adds a sub-group."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from wisehub.config import get_settings

app = typer.Typer(help="Throw-away real services (Ceph RGW, …) for development.",
                  no_args_is_help=True)
ceph_app = typer.Typer(help="A single-node Ceph with an S3 gateway on 127.0.0.1.",
                       no_args_is_help=True)
app.add_typer(ceph_app, name="ceph")

DirOption = typer.Option(None, "--dir", help="cluster directory [default: <data dir>/dev/ceph]")


def _ceph_dir(directory: Path | None) -> Path:
    return (directory or get_settings().data_dir / "dev" / "ceph").absolute()


@ceph_app.command("up")
def ceph_up(directory: Path | None = DirOption,
            memory_gib: float = typer.Option(4.0, help="OSD capacity (RAM, used as filled)")
            ) -> None:
    """Start Ceph (mon, memstore OSD, RGW) in the background and create the platform bucket."""
    from wisehub.dev.ceph import start_ceph
    from wisehub.storage.s3 import open_s3

    cluster = start_ceph(_ceph_dir(directory), memstore_bytes=int(memory_gib * 2**30),
                         detach=True)
    bucket = get_settings().s3.bucket
    try:
        open_s3(cluster.endpoint_url, cluster.admin, bucket).ensure_bucket()
    except BaseException:
        cluster.stop()
        raise
    typer.echo(f"Ceph RGW (S3) at {cluster.endpoint_url}, bucket {bucket!r}, in "
               f"{cluster.directory}\nUse it with: eval \"$(wisehub dev ceph env)\"")


@ceph_app.command("env")
def ceph_env(directory: Path | None = DirOption) -> None:
    """Print ``export`` lines that point wisehub and catalogues at the running Ceph."""
    from wisehub.dev.ceph import CephCluster

    cluster = CephCluster.load(_ceph_dir(directory))
    for name, value in cluster.env(bucket=get_settings().s3.bucket).items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@ceph_app.command("down")
def ceph_down(directory: Path | None = DirOption) -> None:
    """Stop the Ceph daemons and remove the cluster directory (all its data)."""
    from wisehub.dev.ceph import CephCluster

    cluster = CephCluster.load(_ceph_dir(directory))
    cluster.stop()
    typer.echo(f"stopped Ceph in {cluster.directory}")
