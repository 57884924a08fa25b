"""``wisehub compute``: your Dask clusters from the shell (inside a hub server), and
``serve`` to run the compute service itself (the hub does this).

>>> from typer.testing import CliRunner
>>> "scale" in CliRunner().invoke(app, ["--help"]).output
True
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from wisehub.compute.api_client import ComputeAPI

app = typer.Typer(help="Dask clusters made by the hub's compute service.",
                  no_args_is_help=True)


def _api() -> ComputeAPI:
    from wisehub.compute.api_client import ComputeAPI, ComputeError
    from wisehub.compute.settings import URL_ENV

    service = ComputeAPI.from_environment()
    if service is None:
        raise ComputeError(f"no compute service: {URL_ENV} and JUPYTERHUB_API_TOKEN are set "
                           "inside a hub server")
    return service


@app.command("list")
def list_clusters(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List your clusters."""
    clusters = _api().list()
    if as_json:
        typer.echo(json.dumps(clusters, indent=2))
        return
    for c in clusters:
        size = (f"adaptive {c['adaptive']['minimum']}-{c['adaptive']['maximum']}"
                if c["adaptive"] else f"{c['workers']} workers")
        typer.echo(f"{c['id']}  {c['status']:8}  {size:18}  {c['dashboard_link']}")


@app.command()
def scale(cluster_id: str,
          workers: int = typer.Argument(None, min=0, help="fixed number of workers"),
          minimum: int = typer.Option(None, "--min", min=0, help="adaptive minimum"),
          maximum: int = typer.Option(None, "--max", min=1, help="adaptive maximum")) -> None:
    """Scale a cluster to WORKERS, or adaptively with --min/--max."""
    if (workers is None) == (maximum is None):
        raise typer.BadParameter("give WORKERS, or --max (and --min) for adaptive")
    adaptive = None if maximum is None else (minimum or 0, maximum)
    result = _api().scale(cluster_id, workers, adaptive=adaptive)
    typer.echo(f"{result['id']}: {result['running_workers']} workers running")


@app.command()
def delete(cluster_id: str) -> None:
    """Stop and remove a cluster."""
    _api().delete(cluster_id)
    typer.echo(f"{cluster_id} deleted")


@app.command()
def serve() -> None:
    """Run the compute service (as the hub does, with the JUPYTERHUB_* service variables)."""
    from wisehub.compute.service import main

    main()
