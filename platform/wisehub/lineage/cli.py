"""``wisehub lineage …`` (show, tree, prov, invalidate, inspect, register-raw) and
``wisehub db upgrade``.

Every command runs in the user's context from settings (``WISEHUB_USER``, ``_GROUPS``,
``_PROJECT``), so it sees exactly what the user may read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from wisehub.lineage.store import LineageStore

app = typer.Typer(help="Lineage of products: show, trace, export, judge.", no_args_is_help=True)
db_app = typer.Typer(help="The lineage database schema.", no_args_is_help=True)

PidArg = Annotated[str, typer.Argument(help="the product's persistent id (UUID)")]


def _store() -> LineageStore:
    from wisehub.lineage.store import default_store

    return default_store()


@app.command("show")
def show(pid: PidArg) -> None:
    """Print a product's metadata, QC state and the process that made it."""
    store = _store()
    product = store.product(pid)
    process = store.process(pid)
    fields = {
        "pid": product.pid, "type": product.type, "name": product.name,
        "owner": product.owner, "privilege": product.privilege, "group": product.group,
        "project": product.project, "created_at": product.created_at.isoformat(),
        "data_uri": product.data_uri, "checksum": product.checksum, "size": product.size,
        "data_deleted_at": product.data_deleted_at, "is_valid": product.is_valid,
        "quality_flags": product.quality_flags, "valid_from": product.valid_from,
        "valid_to": product.valid_to, "attrs": product.attrs, "meta": product.meta,
        "process": {k: process[k] for k in ("pid", "recipe", "code_version", "parameters",
                                            "host", "status") if k in process} or None,
        "inputs": {role: [p.pid for p in ps] for role, ps in store.inputs(pid).items()},
    }
    typer.echo(json.dumps(fields, indent=2, default=str))


@app.command("tree")
def tree(pid: PidArg) -> None:
    """Print what a product was made from (down to raw data) and what depends on it."""
    found = _store().lineage(pid)
    typer.echo(found.tree())
    if found.downstream:
        typer.echo("depended on by:")
        for product in found.downstream:
            typer.echo(f"  {product.type} {product.name} ({product.pid})")


@app.command("prov")
def prov(
    pid: PidArg,
    fmt: Annotated[str, typer.Option("--format", help="json (PROV-JSON) or provn (PROV-N)")]
    = "json",
    output: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
) -> None:
    """Export a product's lineage as W3C PROV."""
    if fmt not in ("json", "provn"):
        raise typer.BadParameter(f"unknown format {fmt!r}: use json or provn",
                                 param_hint="--format")
    found = _store().lineage(pid)
    text = found.prov_json() if fmt == "json" else found.prov_n()
    if output:
        output.write_text(text)
    else:
        typer.echo(text)


@app.command("invalidate")
def invalidate(pid: PidArg) -> None:
    """Mark a product bad: calibration selection skips it, dependants become stale."""
    store = _store()
    product = store.invalidate(pid)
    stale = [p for p in store.tainted() if p.pid != product.pid]
    typer.echo(f"{product.type} {product.name} marked bad; {len(stale)} dependant(s) stale")


@app.command("inspect")
def inspect(
    pid: PidArg,
    valid: Annotated[int, typer.Option("--valid", min=0, max=2,
                                       help="0 bad, 1 ok, 2 qualified for delivery")],
) -> None:
    """Record a person's verdict on a product (``is_valid``)."""
    product = _store().inspect(pid, valid)
    typer.echo(f"{product.type} {product.name}: is_valid={product.is_valid}")


@app.command("register-raw")
def register_raw(store_url: Annotated[str, typer.Argument(
        help="an ingested Zarr store (path or URL) with dims frame, y, x")]) -> None:
    """Register each frame of an ingested store as a RawFrame product (skips known ones)."""
    from wisehub.pipelines.ccd import register_raw as register

    store = _store()
    options = store.storage.storage_options if store.storage else None
    added = register(store, store_url, options or None)
    typer.echo(f"registered {added} new raw frame(s) from {store_url}")


@db_app.command("upgrade")
def upgrade(url: Annotated[str | None, typer.Option(
        help="database URL (default: the lineage_db_url setting)")] = None) -> None:
    """Migrate the lineage database to this wisehub's schema (refuses a newer one)."""
    from wisehub.config import get_settings
    from wisehub.lineage.schema import schema_state
    from wisehub.lineage.schema import upgrade as run_upgrade
    from wisehub.lineage.store import engine_for

    settings = get_settings()
    target = url or str(settings.lineage_db_url)
    if target.startswith("sqlite:///") and url is None:
        settings.ensure_data_dir()
    engine = engine_for(target)
    before, _ = schema_state(engine)
    after = run_upgrade(engine)
    typer.echo(f"lineage schema: {before or 'empty'} → {after}" if before != after
               else f"lineage schema already at {after}")
