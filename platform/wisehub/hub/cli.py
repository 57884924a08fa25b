"""``wisehub up``: run the platform on this machine."""

from __future__ import annotations

from pathlib import Path

import typer

from wisehub.config import load_settings


def up(
    port: int = typer.Option(None, "--port", min=1, max=65535,
                             help="public port on 127.0.0.1 (default: a free one)"),
    config: Path = typer.Option(None, "--config", help="wisehub settings YAML (with a hub: part)"),
    data_dir: Path = typer.Option(None, "--data-dir", help="where data, homes and hub state live"),
) -> None:
    """Start a multi-user JupyterHub with sample data and tutorials; Ctrl-C stops it all."""
    from wisehub.hub.launcher import provision_data, serve

    overrides = {"data_dir": data_dir} if data_dir else {}
    settings = load_settings(config, **overrides)
    if port is not None:
        settings.hub.port = port
    provision_data(settings, echo=typer.echo)
    raise typer.Exit(serve(settings, echo=typer.echo))
