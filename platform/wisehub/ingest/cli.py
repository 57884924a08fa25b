"""``wisehub ingest FILES… --to STORE``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def ingest(
    files: Annotated[list[Path], typer.Argument(help="FITS files (one frame each)")],
    to: Annotated[str, typer.Option("--to", help="target Zarr store (path or s3:// URL)")],
    overwrite: Annotated[bool, typer.Option(help="replace an existing store")] = False,
    register: Annotated[bool, typer.Option(
        help="register each frame as a RawFrame in the lineage store")] = True,
) -> None:
    """Ingest FITS frames into one chunked Zarr store (headers become per-frame coordinates).

    The frames are then registered as RawFrame products, so targets can be made from them.
    """
    from wisehub.ingest import ingest_fits

    ds = ingest_fits(files, to, progress=True, overwrite=overwrite)
    typer.echo(f"ingested {ds.sizes['frame']} frames of {ds.sizes['y']}×{ds.sizes['x']} into {to}")
    if register:
        from wisehub.lineage import default_store
        from wisehub.pipelines.ccd import register_raw

        added = register_raw(default_store(), to)
        typer.echo(f"registered {added} raw frame(s) in the lineage store")
