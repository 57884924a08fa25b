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
