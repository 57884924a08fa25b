"""``wisehub up`` (run the platform on this machine) and ``wisehub hub …`` (administer it)."""

from __future__ import annotations

from pathlib import Path

import typer

from wisehub.config import load_settings

app = typer.Typer(help="Administer the local hub.", no_args_is_help=True)

ConfigOption = typer.Option(None, "--config", help="wisehub settings YAML (with a hub: part)")
DataDirOption = typer.Option(None, "--data-dir", help="where data, homes and hub state live")


def up(
    port: int = typer.Option(None, "--port", min=1, max=65535,
                             help="public port on 127.0.0.1 (default: a free one)"),
    config: Path = ConfigOption,
    data_dir: Path = DataDirOption,
) -> None:
    """Start a multi-user JupyterHub with sample data and tutorials; Ctrl-C stops it all."""
    from wisehub.hub.launcher import provision_data, serve

    settings = load_settings(config, **({"data_dir": data_dir} if data_dir else {}))
    if port is not None:
        settings.hub.port = port
    provision_data(settings, echo=typer.echo)
    raise typer.Exit(serve(settings, echo=typer.echo))


@app.command("add-admin")
def add_admin(
    name: str = typer.Argument(..., help="the admin's user name"),
    config: Path = ConfigOption,
    data_dir: Path = DataDirOption,
) -> None:
    """Make NAME an approved admin of the native login, with a password typed here.

    The account is created at the hub's next start (restart a running hub). This is how the
    first admin comes to be: nobody becomes admin by signing up under a listed name.
    """
    from wisehub.hub.configuration import hub_state_dir
    from wisehub.hub.native import add_pending_admin
    from wisehub.hub.state import prepare_state_dir

    settings = load_settings(config, **({"data_dir": data_dir} if data_dir else {}))
    password = typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    try:
        add_pending_admin(prepare_state_dir(hub_state_dir(settings)), name, password)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    typer.echo(f"{name} becomes an approved admin when the hub next starts "
               "(restart it if it is running)")
    if settings.hub.authenticator != "native":
        typer.echo(f"note: hub.authenticator is {settings.hub.authenticator!r}; admins added "
                   "here log in with the 'native' authenticator only")
