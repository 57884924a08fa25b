"""``wisehub batch submit|list|status|logs|cancel|result``: batch jobs from the shell.

Values given with ``-p name=value`` and positional arguments are read as YAML, so
``-p n=3`` is the number 3 and ``-p night=2024-03-01`` stays text.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
import yaml

from wisehub.batch.state import FAILED
from wisehub.batch.submit import job, jobs, submit

app = typer.Typer(help="Batch jobs that outlive your session: submit, follow, collect.",
                  no_args_is_help=True)


def _value(text: str) -> Any:
    """A number, boolean, list, mapping or null as YAML reads it; anything else as text
    (so dates stay text)."""
    value = yaml.safe_load(text) if text.strip() else text
    return value if value is None or isinstance(value, int | float | bool | list | dict) else text


def _parameters(items: list[str]) -> dict[str, Any]:
    params = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            raise typer.BadParameter(f"{item!r}: expected name=value", param_hint="-p")
        params[key] = _value(text)
    return params


@app.command("submit")
def submit_command(
    target: Annotated[str, typer.Argument(help="module:function, file.py:function or a notebook")],
    args: Annotated[list[str] | None, typer.Argument(help="positional arguments (YAML)")] = None,
    param: Annotated[list[str] | None, typer.Option("-p", "--param",
                                                    help="name=value (repeatable)")] = None,
    workers: Annotated[int, typer.Option(help="Dask workers of the job's cluster")] = 1,
    adaptive: Annotated[bool, typer.Option(help="scale between 1 and --workers")] = False,
    wall_time: Annotated[float | None, typer.Option(help="seconds before it is stopped")] = None,
    output: Annotated[list[str] | None, typer.Option(help="a file the job writes")] = None,
    name: Annotated[str, typer.Option(help="a label for the job list")] = "",
) -> None:
    """Submit a job and print its id."""
    submitted = submit(target, *[_value(a) for a in args or []], workers=workers,
                       adaptive=adaptive, wall_time=wall_time, outputs=output or (),
                       name=name, **_parameters(param or []))
    typer.echo(submitted.id)


@app.command("list")
def list_command() -> None:
    """Your jobs, oldest first."""
    typer.echo(repr(jobs()))


@app.command("status")
def status_command(job_id: str) -> None:
    """A job's status and message (a failed job's traceback too)."""
    record = job(job_id).record()
    typer.echo(f"{record.status}: {record.message}" if record.message else record.status)
    if record.status == FAILED and record.error:
        typer.echo(record.error, err=True)


@app.command("logs")
def logs_command(job_id: str,
                 lines: Annotated[int, typer.Option(help="lines of each log")] = 100) -> None:
    """The tail of a job's logs, the Dask workers' included."""
    typer.echo(job(job_id).logs(lines))


@app.command("cancel")
def cancel_command(job_id: str) -> None:
    """Stop a job."""
    typer.echo(job(job_id).cancel().status())


@app.command("result")
def result_command(job_id: str) -> None:
    """A function job's return value (repr), or the path of a notebook job's output."""
    found = job(job_id)
    value = found.result()
    typer.echo(repr(value) if found.record().kind == "function" else str(value))
