"""Batch jobs on the local backend: real detached supervisors, runners and Dask clusters.

Starts: per job a supervisor and a runner process, and a TLS LocalCluster inside the runner.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from batchtools import SLEEPY_BODY, SLEEPY_PARAMETERS, WAIT, write_notebook
from wisehub.batch import BatchSettings, JobSpecError, JobStateError, LimitError, submit
from wisehub.batch.process import group_alive
from wisehub.batch.spec import BY_VALUE
from wisehub.batch.state import write_record
from wisehub.batch.submit import jobs


def test_bad_input_is_refused_at_submit_and_nothing_is_queued(place, tmp_path):
    backend = place.backend()
    outside = tmp_path / "outside.py"
    outside.write_text("def f():\n    return 1\n")
    cases = {
        "no.such.module:f": "cannot import 'no.such.module'",
        "jobs.py:nope": "defines no top-level function 'nope'",
        f"{outside}:f": "is outside your home",
        "missing.py:f": "not found",
        "no-colon": "expected 'package.module:function'",
    }
    for target, expected in cases.items():
        with pytest.raises(JobSpecError, match=expected):
            submit(target, backend=backend)
    with pytest.raises(JobSpecError, match="not found"):
        submit("missing.ipynb", backend=backend)
    with pytest.raises(JobSpecError, match=r"does not declare parameter\(s\) nigth; it "
                                           r"declares: n, night"):
        submit("night.ipynb", nigth="2024-03-01", backend=backend)
    assert len(jobs(backend=backend)) == 0
    assert backend.jobs.ids() == []


def test_limits_name_the_limit_and_groups_raise_them(place):
    batch = BatchSettings(limits={"workers": 1, "wall_time": 60, "concurrent_jobs": 1},
                          group_limits={"lab": {"workers": 2}}, kill_grace=1)
    ada = place.backend(batch=batch)
    with pytest.raises(LimitError, match="limit workers: the job asks for 2 Dask workers"):
        submit("jobs.py:sleeper", 1, workers=2, backend=ada)
    with pytest.raises(LimitError, match="limit wall_time"):
        submit("jobs.py:sleeper", 1, wall_time=61, backend=ada)
    first = submit("jobs.py:sleeper", 30, backend=ada)
    try:
        with pytest.raises(LimitError, match=f"limit concurrent_jobs.*has 1 .*{first.id}"):
            submit("jobs.py:sleeper", 1, backend=ada)
        assert [j.id for j in jobs(backend=ada)] == [first.id]
        lab = place.backend("lin", groups=("lab",), batch=batch)
        assert batch.limits_for(["lab"]).workers == 2
        assert lab.batch.limits_for(lab.groups).concurrent_jobs == 1
    finally:
        first.cancel()
    assert first.status() == "cancelled"


SUBMIT_AND_DIE = """
import json, os, signal, sys
import wisehub as wh
fn = wh.batch.submit("jobs.py:square_sum", 5, delay=2, name="squares", workers=2)
nb = wh.batch.submit("night.ipynb", night="2024-03-01", n=4, name="night")
print(json.dumps({"function": fn.id, "notebook": nb.id}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # the kernel dies without any cleanup
"""

COLLECT = """
import json
import wisehub as wh
fn, nb = wh.batch.job({fn!r}), wh.batch.job({nb!r})
out = {{"statuses": [fn.wait(240), nb.wait(240)], "value": fn.result(),
        "notebook": str(nb.result()), "logs": fn.logs(400), "nb_logs": nb.logs(400),
        "listed": [j.id for j in wh.batch.jobs()]}}
print(json.dumps(out))
"""


def test_jobs_survive_their_submitter_being_killed_and_are_collected_later(place, lineage_of):
    died = subprocess.run([sys.executable, "-c", SUBMIT_AND_DIE], env=place.env("ada"),
                          cwd=place.home, capture_output=True, text=True, timeout=120)
    assert died.returncode == -signal.SIGKILL, died.stderr
    ids = json.loads(died.stdout.strip().splitlines()[-1])
    collected = subprocess.run(
        [sys.executable, "-c", COLLECT.format(fn=ids["function"], nb=ids["notebook"])],
        env=place.env("ada"), cwd=place.home, capture_output=True, text=True, timeout=600)
    assert collected.returncode == 0, collected.stderr
    out = json.loads(collected.stdout.strip().splitlines()[-1])
    assert out["statuses"] == ["succeeded", "succeeded"]
    assert out["value"] == sum(x * x for x in range(5))
    assert sorted(out["listed"]) == sorted(ids.values())
    # The logs hold the function's output and the Dask workers' own log lines.
    assert "square_sum running 5" in out["logs"]
    assert "distributed.worker" in out["logs"] and "Start worker at:      tls://" in out["logs"]
    # The executed notebook ran with the parameters, on the job's TLS cluster.
    notebook = nbformat.read(out["notebook"], as_version=4)
    printed = "".join(o.get("text", "") for c in notebook["cells"] if c["cell_type"] == "code"
                      for o in c.get("outputs", []))
    assert "night 2024-03-01 total 6 address tls://127.0.0.1:" in printed
    # Lineage: a process with parameters and code version per product.
    fn_products, nb_products = lineage_of(ids["function"]), lineage_of(ids["notebook"])
    assert [p.type for p in fn_products] == ["BatchResult"]
    assert [p.type for p in nb_products] == ["BatchNotebook"]
    process = fn_products[0].store.process(fn_products[0].pid)
    assert process["parameters"] == {"args": [5], "kwargs": {"delay": 2}}
    assert process["target_keys"] == {"job": ids["function"]}
    assert len(process["code_version"]) == 64
    nb_process = nb_products[0].store.process(nb_products[0].pid)
    assert nb_process["parameters"] == {"night": "2024-03-01", "n": 4}
    assert nb_products[0].checksum.startswith("sha256:") and nb_products[0].size > 0


def test_cancel_stops_the_whole_process_group(place):
    backend = place.backend()
    job = submit("jobs.py:sleeper", 300, backend=backend)
    while "sleeping" not in job.logs():
        assert job.status() in ("queued", "running")
    pgid = job.record().runner["pgid"]
    assert group_alive(pgid)
    job.cancel()
    assert job.status() == "cancelled"
    assert not group_alive(pgid)
    with pytest.raises(JobStateError, match="is cancelled"):
        job.result()


def test_a_running_job_survives_a_step_of_the_wall_clock(place, clock_step):
    # Before stamps counted from boot, the job's supervisor looked like another process once
    # the clock stepped across a second: reading the job marked it failed and killed it.
    job = submit("jobs.py:sleeper", 300, backend=place.backend())
    deadline = time.monotonic() + WAIT
    while "sleeping" not in job.logs():
        assert job.status() in ("queued", "running") and time.monotonic() < deadline
        time.sleep(0.2)
    pgid = job.record().runner["pgid"]
    clock_step(1.0)
    try:
        assert job.status() == "running", job.record().message
        assert group_alive(pgid)
    finally:
        job.cancel()
    assert job.status() == "cancelled" and not group_alive(pgid)


def test_cancelling_a_notebook_job_stops_its_kernel_too(place):
    write_notebook(place.home / "sleepy.ipynb", SLEEPY_PARAMETERS, SLEEPY_BODY)
    job = submit("sleepy.ipynb", seconds=300, backend=place.backend())
    deadline = time.monotonic() + WAIT
    while not (found := re.search(r"kernel sleeping (\d+)", job.logs())):
        assert job.status() in ("queued", "running") and time.monotonic() < deadline
        time.sleep(0.5)
    kernel = psutil.Process(int(found.group(1)))
    assert os.getpgid(kernel.pid) != job.record().runner["pgid"]  # Jupyter's own session
    job.cancel()
    assert job.status() == "cancelled"
    kernel.wait(timeout=30)  # raises TimeoutExpired if the kernel survived the cancel
    assert not kernel.is_running()


def test_a_job_past_its_wall_time_is_stopped_and_marked(place):
    backend = place.backend()
    job = submit("jobs.py:sleeper", 300, wall_time=3, backend=backend)
    assert job.wait(WAIT) == "timed-out"
    record = job.record()
    assert "wall time of 3 s" in record.message
    assert not group_alive(record.runner["pgid"])


def test_a_crashing_job_shows_its_traceback_and_registers_nothing(place, lineage_of):
    backend = place.backend()
    job = submit("jobs.py:crash_after_partial_output", "2024-03-02",
                 outputs=["partial-2024-03-02.txt"], backend=backend)
    assert job.wait(WAIT) == "failed"
    assert (place.home / "partial-2024-03-02.txt").exists()  # written, never registered
    record = job.record()
    assert record.message == "failed: ValueError: bad frames in night 2024-03-02"
    assert "Traceback" in record.error and "crash_after_partial_output" in record.error
    assert "ValueError: bad frames in night 2024-03-02" in job.logs()
    assert record.products == [] and lineage_of(job.id) == []


def test_declared_outputs_and_by_value_functions_become_products(place, lineage_of):
    namespace: dict = {}
    exec(textwrap.dedent("""
        def local_double(x):
            return 2 * x
    """), namespace)  # like a function defined in a notebook: not importable by name
    backend = place.backend()
    by_value = submit(namespace["local_double"], 21, workers=2, adaptive=True, backend=backend)
    report = submit("jobs.py:write_report", "2024-03-03", outputs=["report-2024-03-03.json"],
                    backend=backend)
    assert by_value.wait(WAIT) == "succeeded" and report.wait(WAIT) == "succeeded"
    assert by_value.result() == 42 and by_value.record().target == f"{BY_VALUE}:local_double"
    types = sorted(p.type for p in lineage_of(report.id))
    assert types == ["BatchOutput", "BatchResult"]
    output = next(p for p in lineage_of(report.id) if p.type == "BatchOutput")
    assert json.loads(Path(output.data_uri).read_text())["night"] == "2024-03-03"


def test_finished_jobs_are_removed_after_the_retention(place):
    backend = place.backend(batch=BatchSettings(retention=3600, kill_grace=1))
    job = submit("math:sqrt", 16.0, backend=backend)
    assert job.wait(WAIT) == "succeeded" and job.result() == 4.0
    kept = submit("math:sqrt", 9.0, backend=backend)
    assert kept.wait(WAIT) == "succeeded"
    record = job.record()
    record.ended_at = "2020-01-01T00:00:00.000+00:00"
    write_record(backend.jobs.directory(job.id), record)
    assert [j.id for j in jobs(backend=backend)] == [kept.id]
    assert not (backend.jobs.base / job.id).exists()


def test_another_user_cannot_list_read_cancel_or_fetch_a_job(place):
    ada, bob = place.backend("ada"), place.backend("bob")
    job = submit("jobs.py:sleeper", 300, backend=ada)
    try:
        assert len(jobs(backend=bob)) == 0
        for action in (bob.record, bob.logs, bob.result, bob.cancel):
            with pytest.raises(LookupError, match=f"no batch job {job.id} for user 'bob'"):
                action(job.id)
        with pytest.raises(LookupError, match="job ids look like"):
            bob.record(f"../ada/{job.id}")
        for command in (["list"], ["status", job.id], ["logs", job.id], ["cancel", job.id],
                        ["result", job.id]):
            cli = subprocess.run([sys.executable, "-m", "wisehub.cli", "batch", *command],
                                 env=place.env("bob"), capture_output=True, text=True,
                                 timeout=120)
            assert job.id not in cli.stdout, command
            if command != ["list"]:
                assert cli.returncode == 2 and f"no batch job {job.id} for user 'bob'" \
                    in cli.stderr, (command, cli.stderr)
        assert job.status() == "running"
        own = subprocess.run([sys.executable, "-m", "wisehub.cli", "batch", "status", job.id],
                             env=place.env("ada"), capture_output=True, text=True, timeout=120)
        assert own.returncode == 0 and own.stdout.startswith("running"), own.stderr
    finally:
        job.cancel()


def test_a_teacher_submits_one_job_per_pupil_group_and_all_finish(place):
    teacher = place.backend("teacher", groups=("class-1a",))
    groups = [f"group-{i}" for i in range(1, 5)]
    submitted = [submit("jobs.py:group_work", g, 10 * (i + 1), name=g, backend=teacher)
                 for i, g in enumerate(groups)]
    assert [j.wait(WAIT) for j in submitted] == ["succeeded"] * 4, [
        (j.status(), j.error, j.logs(20)) for j in submitted if j.status() != "succeeded"]
    assert [j.result() for j in submitted] == [
        {"group": g, "total": sum(range(10 * (i + 1)))} for i, g in enumerate(groups)]
    table = jobs(backend=teacher)._repr_html_()
    assert all(g in table for g in groups) and table.count(">succeeded<") == 4
    assert os.path.isdir(teacher.jobs.base)
