"""The ``wisehub`` command. Each sub-command group lives next to the code it drives."""

from __future__ import annotations

import sys

import typer

from wisehub.config import SettingsError

app = typer.Typer(
    help="wisehub: samples, ingest, catalogues, reductions, lineage and the local hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from wisehub.batch.cli import app as batch_app
    from wisehub.catalog.cli import app as catalog_app
    from wisehub.compute.cli import app as compute_app
    from wisehub.dev.cli import app as dev_app
    from wisehub.hub.cli import app as hub_app
    from wisehub.hub.cli import up
    from wisehub.ingest.cli import ingest
    from wisehub.lineage import cli as lineage_cli
    from wisehub.publish.cli import app as publish_app
    from wisehub.reduce.cli import app as reduce_app
    from wisehub.samples.cli import app as samples_app
    from wisehub.storage.cli import app as storage_app

    app.add_typer(samples_app, name="samples")
    app.add_typer(lineage_cli.app, name="lineage")
    app.add_typer(lineage_cli.db_app, name="db")
    app.add_typer(catalog_app, name="catalog")
    app.add_typer(dev_app, name="dev")
    app.add_typer(storage_app, name="storage")
    app.add_typer(reduce_app, name="reduce")
    app.add_typer(hub_app, name="hub")
    app.add_typer(compute_app, name="compute")
    app.add_typer(batch_app, name="batch")
    app.add_typer(publish_app, name="publish")
    app.command("ingest")(ingest)
    app.command("up")(up)


_register()


# Errors that explain themselves: printed as one line, without a traceback.
EXPECTED_ERRORS = (SettingsError, FileNotFoundError, FileExistsError, PermissionError)


def _is_expected(err: Exception) -> bool:
    return isinstance(err, EXPECTED_ERRORS) or type(err).__module__.startswith("wisehub.")


def main() -> None:
    """Entry point: run the CLI and turn expected errors into one clear message."""
    try:
        app()
    except Exception as err:
        if not _is_expected(err):
            raise
        typer.secho(f"error: {err}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
