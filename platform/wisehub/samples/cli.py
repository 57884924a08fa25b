"""``wisehub samples …``: make the sample observations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wisehub.config import get_settings

app = typer.Typer(
    help="Make deterministic sample observations with known truth.", no_args_is_help=True
)


@app.command("make")
def make(
    size: Annotated[
        str, typer.Option(help="chip size: tiny, small, medium, large or pixels")
    ] = "small",
    nights: Annotated[int, typer.Option(min=1, help="observing nights")] = 3,
    chips: Annotated[int, typer.Option(min=1, help="chips in the mosaic")] = 4,
    events: Annotated[int, typer.Option(min=100, help="air-shower events")] = 100_000,
    seed: Annotated[int, typer.Option(help="random seed")] = 2024,
    out: Annotated[Path | None, typer.Option(help="directory (default: DATA_DIR/samples)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace samples made differently")] = False,
    register: Annotated[bool, typer.Option(
        help="register the raw frames in the lineage store, as `wisehub ingest` does")] = True,
) -> None:
    """Write raw FITS frames, ingest them to Zarr, and add the IFU cube and event table.

    The raw frames are then registered as RawFrame products, so targets can be made from
    them right away (``wh.targets.ReducedScienceFrame.get(frame=...)``).
    """
    settings = get_settings()
    settings.ensure_data_dir()
    from wisehub.samples import make_samples

    target = out or settings.samples_dir
    made = make_samples(
        target,
        size=int(size) if size.isdigit() else size,
        nights=nights,
        chips=chips,
        n_events=events,
        seed=seed,
        progress=True,
        overwrite=overwrite,
    )
    typer.echo(f"samples ready in {made.path}: {', '.join(sorted(made.stores))}")
    if register:
        from wisehub.lineage import default_store
        from wisehub.pipelines.ccd import register_raw

        added = register_raw(default_store(), str(made.stores["raw"]))
        typer.echo(f"registered {added} raw frame(s) in the lineage store")
