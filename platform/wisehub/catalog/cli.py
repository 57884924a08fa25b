"""``wisehub catalog …``: list, show and search the platform catalogue."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from wisehub.catalog import catalog

if TYPE_CHECKING:
    from wisehub.catalog.platform import PlatformCatalog

app = typer.Typer(help="List, show and search the platform's data catalogue.", no_args_is_help=True)

CatalogOption = Annotated[str | None, typer.Option("--catalog", help="catalogue file or URL")]


def _print_table(cat: PlatformCatalog) -> None:
    for name in cat:
        entry = cat[name]
        typer.echo(
            f"{name:<24} {entry.metadata.get('instrument', ''):<12} "
            f"{entry.metadata.get('title', '')}"
        )


@app.command("list")
def list_entries(catalog_url: CatalogOption = None) -> None:
    """List every dataset reachable from the root catalogue."""
    _print_table(catalog(catalog_url))


@app.command("show")
def show(name: str, catalog_url: CatalogOption = None) -> None:
    """Show one entry's metadata as JSON."""
    typer.echo(json.dumps(catalog(catalog_url).describe(name), indent=2, default=str))


@app.command("search")
def search(
    text: Annotated[str | None, typer.Argument(help="words that must all appear")] = None,
    instrument: Annotated[str | None, typer.Option(help="instrument name")] = None,
    start: Annotated[str | None, typer.Option(help="ISO start of a time range")] = None,
    end: Annotated[str | None, typer.Option(help="ISO end of a time range")] = None,
    cone: Annotated[str | None, typer.Option(help="RA,DEC,RADIUS in degrees")] = None,
    catalog_url: CatalogOption = None,
) -> None:
    """Find entries by words, instrument, time range and position on the sky."""
    cone_values = None
    if cone:
        try:
            ra, dec, radius = (float(v) for v in cone.split(","))
        except ValueError:
            raise typer.BadParameter(
                "expected three numbers RA,DEC,RADIUS", param_hint="--cone"
            ) from None
        cone_values = (ra, dec, radius)
    found = catalog(catalog_url).search(
        text, instrument=instrument, start=start, end=end, cone=cone_values
    )
    if not len(found):
        typer.echo("no matching entries")
    _print_table(found)
