"""``wisehub storage``: operator tasks on product storage."""

from __future__ import annotations

import typer

from wisehub.storage.store import DEFAULT_STAGING_AGE_S

app = typer.Typer(help="Product storage (local or S3/Ceph RGW) maintenance.",
                  no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Keep ``storage`` a command group even while it has one command."""


@app.command("cleanup")
def cleanup(older_than_hours: float = typer.Option(DEFAULT_STAGING_AGE_S / 3600,
                                                   help="remove writes whose lease was not renewed "
                                                   "for this long"),
            prefix: list[str] = typer.Option(None, help="only these layout prefixes, e.g. "
                                             "private/ada (default: all, the platform's job)")
            ) -> None:
    """Remove what writes left behind when they crashed or lost the store mid-way."""
    from wisehub.storage import get_storage

    removed = get_storage().cleanup_staging(older_than_hours * 3600, prefix or None)
    for url in removed:
        typer.echo(f"removed {url}")
    typer.echo(f"{len(removed)} abandoned staging area(s) removed")
