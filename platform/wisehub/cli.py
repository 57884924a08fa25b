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
    from wisehub.catalog.cli import app as catalog_app
    from wisehub.ingest.cli import ingest
    from wisehub.samples.cli import app as samples_app

    app.add_typer(samples_app, name="samples")
    app.add_typer(catalog_app, name="catalog")
    app.command("ingest")(ingest)


_register()


class UserError(Exception):
    """An error caused by input; printed as one clear line, without a traceback."""


def main() -> None:
    """Entry point: run the CLI and turn expected errors into one clear message."""
    try:
        app(standalone_mode=False)
    except (SettingsError, UserError) as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        sys.exit(2)
    except Exception as err:  # errors from our packages carry their own clear message
        if type(err).__module__.startswith("wisehub") or isinstance(err, (FileNotFoundError,
                                                                            KeyError)):
            typer.secho(f"error: {err}", fg="red", err=True)
            sys.exit(2)
        raise
