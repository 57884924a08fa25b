"""``wisehub publish …``: records, VOTable/FITS export and the catalogue's records.

Commands run in the user's context from settings, like ``wisehub lineage``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Publish: records with DataCite metadata, VOTable and FITS export.",
                  no_args_is_help=True)

PidArg = Annotated[str, typer.Argument(help="the product's persistent id (UUID)")]
OutArg = Annotated[Path, typer.Argument(help="the file to write (must not exist)")]


@app.command("promote")
def promote_command(pid: PidArg,
                    privilege: Annotated[str, typer.Argument(help="project or world")],
                    collection: Annotated[str | None, typer.Option(
                        help="the collection (OAI-PMH set) the record belongs to")] = None
                    ) -> None:
    """Promote a product; at project or world it gets a record (printed as DataCite JSON)."""
    from wisehub.lineage.store import default_store
    from wisehub.publish.records import promote

    record = promote(default_store(), pid, privilege, collection=collection)
    typer.echo(json.dumps(record.datacite, indent=1) if record else
               f"{pid} is now {privilege}; records start at project")


@app.command("record")
def record_command(pid: PidArg,
                   xml: Annotated[bool, typer.Option(help="DataCite XML instead of JSON")] = False
                   ) -> None:
    """Print a readable record's DataCite metadata."""
    from wisehub.lineage.store import default_store
    from wisehub.publish.datacite import to_xml
    from wisehub.publish.records import Records

    doc = Records.of(default_store()).get(pid).datacite
    typer.echo(to_xml(doc).decode() if xml else json.dumps(doc, indent=1))


@app.command("catalog")
def catalog_command(path: Annotated[Path, typer.Argument(help="an Intake 2 catalogue file")]
                    ) -> None:
    """Make or refresh the records of every entry of a catalogue file."""
    from wisehub.lineage.store import default_store
    from wisehub.publish.records import Records

    for record in Records.of(default_store()).record_catalog(path):
        typer.echo(f"{record.pid}  {record.source}")


@app.command("votable")
def votable_command(pid: PidArg, out: OutArg) -> None:
    """Write a table product as a VOTable file."""
    from wisehub.lineage.store import default_store
    from wisehub.publish.export import votable

    typer.echo(votable(default_store().product(pid), _new(out)))


@app.command("fits")
def fits_command(pid: PidArg, out: OutArg,
                 variable: Annotated[str | None, typer.Option(help="the image variable")] = None
                 ) -> None:
    """Write a product as FITS: a table, or an image with WCS and provenance keywords."""
    from wisehub.lineage.store import default_store
    from wisehub.publish.export import fits

    typer.echo(fits(default_store().product(pid), _new(out), variable=variable))


def _new(path: Path) -> Path:
    if path.exists():
        raise FileExistsError(f"{path} exists; choose a new file (nothing was written)")
    return path


shop_app = typer.Typer(help="The data shop: order subsets of published tables as files.",
                       no_args_is_help=True)
app.add_typer(shop_app, name="shop")


def _show(data: object) -> None:
    typer.echo(json.dumps(data, indent=1, default=str))


def _cuts(cut: list[str]) -> dict[str, dict[str, str | None]]:
    """``COLUMN:MIN:MAX`` strings (either bound may be empty) as a selection's cuts."""
    cuts: dict[str, dict[str, str | None]] = {}
    for text in cut:
        name, sep, bounds = text.partition(":")
        low, sep2, high = bounds.partition(":")
        if not (sep and sep2 and name):
            raise typer.BadParameter(f"--cut {text!r}: expected COLUMN:MIN:MAX, e.g. "
                                     "zenith_deg::30 or energy_ev:4e15:")
        cuts[name] = {"min": low or None, "max": high or None}
    return cuts


@shop_app.command("datasets")
def shop_datasets_command() -> None:
    """The datasets you may order from."""
    from wisehub.publish.shop import client

    for dataset in client.datasets():
        typer.echo(f"{dataset['name']}  {dataset['privilege']:<6} {dataset['title']}")


@shop_app.command("columns")
def shop_columns_command(dataset: Annotated[str, typer.Argument(help="a shop dataset")]
                         ) -> None:
    """A dataset's columns with their units and ranges."""
    from wisehub.publish.shop import client

    for column in client.columns(dataset):
        typer.echo(f"{column['name']:<16} {column['unit']:<5} {column['min']:.6g} .. "
                   f"{column['max']:.6g}")


@shop_app.command("order")
def shop_order_command(
        dataset: Annotated[str, typer.Argument(help="a shop dataset")],
        cut: Annotated[list[str] | None, typer.Option(
            help="COLUMN:MIN:MAX (repeatable; a bound may be empty)")] = None,
        column: Annotated[list[str] | None, typer.Option(
            help="a column to keep (repeatable; default: all)")] = None,
        output_format: Annotated[str, typer.Option("--format", help="hdf5, root, ecsv, "
                                                   "csv or fits")] = "hdf5",
        sample: Annotated[int | None, typer.Option(help="a random subsample")] = None,
        name: Annotated[str, typer.Option(help="a label (names the file)")] = "") -> None:
    """Order a subset; prints the order (its id, events and status)."""
    from wisehub.publish.shop import client

    _show(client.order(dataset, cuts=_cuts(cut or []), columns=column or [], sample=sample,
                       format=output_format, name=name))


@shop_app.command("list")
def shop_list_command() -> None:
    """Your orders, oldest first."""
    from wisehub.publish.shop import client

    for order in client.orders():
        typer.echo(f"{order['id']}  {order['status']:<9} {order['events']:>9}  "
                   f"{order['selection']['dataset']}  {order['summary']}")


@shop_app.command("resubmit")
def shop_resubmit_command(
        order_id: Annotated[str, typer.Argument(help="an earlier order")],
        cut: Annotated[list[str] | None, typer.Option(help="COLUMN:MIN:MAX to change")] = None,
        output_format: Annotated[str | None, typer.Option("--format")] = None) -> None:
    """Order an earlier order again, with changed cuts or format."""
    from wisehub.publish.shop import client

    changes: dict[str, object] = {"cuts": _cuts(cut)} if cut else {}
    if output_format:
        changes["format"] = output_format
    _show(client.resubmit(order_id, **changes))


@shop_app.command("get")
def shop_get_command(order_id: Annotated[str, typer.Argument(help="a finished order")],
                     out: Annotated[Path | None, typer.Argument(
                         help="where to save (default: the file's name here)")] = None,
                     wait: Annotated[bool, typer.Option(help="wait for the job")] = True
                     ) -> None:
    """Download an order's file (waiting for its job first)."""
    from wisehub.publish.shop import client

    if wait:
        client.wait(order_id)
    typer.echo(client.download(order_id, out))
