"""``wisehub ingest FILES… --to STORE``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def ingest(
    files: Annotated[list[Path], typer.Argument(help="FITS files (one frame each)")],
    to: Annotated[str, typer.Option("--to", help="target Zarr store (path or s3:// URL)")],
    overwrite: Annotated[bool, typer.Option(help="replace an existing store")] = False,
) -> None:
    """Ingest FITS frames into one chunked Zarr store (headers become per-frame coordinates)."""
    from wisehub.ingest import ingest_fits

    ds = ingest_fits(files, to, progress=True, overwrite=overwrite)
    typer.echo(f"ingested {ds.sizes['frame']} frames of {ds.sizes['y']}×{ds.sizes['x']} into {to}")
