"""The job runner: ``python -m wisehub.batch.runner <job directory>``, started by the
supervisor in its own process group.

It starts the job's Dask cluster, runs the function (its return value pickled into the job
directory: only this user's own runner writes it, so unpickling it later is safe for them) or
executes the notebook with papermill, keeps the workers' logs, registers the outputs in
lineage, and writes ``outcome.json``. A failure writes the traceback there instead and
registers nothing.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import sys
import threading
import traceback
from contextlib import suppress
from pathlib import Path
from typing import Any

import cloudpickle

from wisehub.batch.cluster import job_cluster
from wisehub.batch.spec import load_function
from wisehub.batch.state import (
    CALL,
    OUTCOME,
    OUTPUT_NOTEBOOK,
    RESULT_FILE,
    RESULT_JSON,
    WORKER_LOG,
    JobRecord,
    parse_time,
    read_record,
    write_json,
)
from wisehub.config import get_settings

RESULT, NOTEBOOK, OUTPUT = "BatchResult", "BatchNotebook", "BatchOutput"
"""Product types: a function's pickled return value, an executed notebook, a declared file."""
LINEAGE = "wisehub.batch.provenance"  # seconds of imports: loaded while the job runs


def _write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.touch(mode=0o600)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _save_result(directory: Path, value: Any) -> list[tuple[str, Path]]:
    _write_bytes(directory / RESULT_FILE, cloudpickle.dumps(value))
    with suppress(TypeError, ValueError):  # not JSON: the pickle is the only form
        _write_bytes(directory / RESULT_JSON, json.dumps({"result": value}).encode())
    return [] if value is None else [(RESULT, directory / RESULT_FILE)]


def _run_notebook(record: JobRecord, directory: Path) -> list[tuple[str, Path]]:
    import papermill

    output = directory / OUTPUT_NOTEBOOK
    papermill.execute_notebook(record.target, str(output), parameters=record.parameters,
                               kernel_name="python3", cwd=record.cwd, progress_bar=False,
                               stdout_file=sys.stdout, stderr_file=sys.stderr)
    return [(NOTEBOOK, output)]


def _load_call(path: Path) -> dict[str, Any]:
    """The pickled call; arguments the compute service passed on still packed (it never
    unpickles what a user sends) are unpacked here, in the user's own job."""
    call = pickle.loads(path.read_bytes())
    if "packed" in call:
        call = {"pickled": call.get("pickled"), **cloudpickle.loads(call["packed"])}
    return call


def _declared_outputs(record: JobRecord) -> list[tuple[str, Path]]:
    files = []
    for name in record.outputs:
        path = Path(record.cwd, name)
        if not path.is_file():
            raise FileNotFoundError(f"the job declared output {name!r} but did not write it "
                                    f"({path})")
        files.append((OUTPUT, path))
    return files


def run(directory: Path) -> dict[str, Any]:
    """Run the job in ``directory``; return its outcome (products, whether it has a result)."""
    threading.Thread(target=importlib.import_module, args=(LINEAGE,), daemon=True).start()
    record = read_record(directory)
    started = parse_time(record.started_at)
    os.chdir(record.cwd)
    with job_cluster(record.workers, record.adaptive, directory) as (client, env):
        os.environ.update(env)
        get_settings.cache_clear()
        try:
            if record.kind == "notebook":
                files = _run_notebook(record, directory)
            else:
                call = _load_call(directory / CALL)
                function = load_function(record.target, call["pickled"])
                files = _save_result(directory, function(*call["args"], **call["kwargs"]))
        finally:
            _save_worker_logs(client, directory / WORKER_LOG)
    files += _declared_outputs(record)
    register_products = importlib.import_module(LINEAGE).register_products
    products = register_products(record, files, get_settings(), started or parse_time(
        record.submitted_at))  # type: ignore[arg-type]
    return {"products": products, "has_result": (directory / RESULT_FILE).exists()}


def _save_worker_logs(client: Any, path: Path) -> None:
    try:
        logs = client.get_worker_logs()
    except Exception as err:  # the cluster may be what failed
        logs = {"(unavailable)": [("ERROR", f"worker logs could not be collected: {err}")]}
    with path.open("a") as out:
        for worker, lines in logs.items():
            for level, line in lines:
                out.write(f"[{worker}] {level} {line}\n")


def main(argv: list[str]) -> int:
    """Entry point; the exit code tells the supervisor whether the job succeeded."""
    directory = Path(argv[0])
    try:
        outcome = run(directory)
    except BaseException:
        text = traceback.format_exc()
        print(text, file=sys.stderr, flush=True)
        write_json(directory / OUTCOME, {"error": text})
        return 1
    write_json(directory / OUTCOME, outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
