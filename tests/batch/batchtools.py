"""Helpers shared by the batch tests: job code for a user's home, a parameterised notebook."""

from __future__ import annotations

from pathlib import Path

import nbformat

WAIT = 240  # seconds a test waits for a job; generous, the machine is shared

JOB_CODE = '''
import json, os, time

def square_sum(n, delay=0.0):
    """Sum of squares on the job's own Dask cluster."""
    from distributed import get_client
    client = get_client()
    time.sleep(delay)
    print("square_sum running", n, flush=True)
    return sum(client.gather(client.map(lambda x: x * x, range(n))))

def write_report(night):
    with open(f"report-{night}.json", "w") as out:
        json.dump({"night": night, "pid": os.getpid()}, out)
    return night

def sleeper(seconds):
    print("sleeping", os.getpid(), flush=True)
    time.sleep(seconds)
    return seconds

def crash_after_partial_output(night):
    with open(f"partial-{night}.txt", "w") as out:
        out.write("half a night")
    raise ValueError(f"bad frames in night {night}")

def group_work(group, n):
    from distributed import get_client
    return {"group": group, "total": get_client().submit(sum, range(n)).result()}
'''

NOTEBOOK_PARAMETERS = 'night = "2024-01-01"\nn = 3'
NOTEBOOK_BODY = '''import wisehub as wh
client = wh.cluster()
total = client.submit(sum, range(n)).result()
print("night", night, "total", total, "address", client.scheduler.address)'''


SLEEPY_PARAMETERS = "seconds = 300"
SLEEPY_BODY = ('import os, time\nprint("kernel sleeping", os.getpid(), flush=True)\n'
               "time.sleep(seconds)")


def write_notebook(path: Path, parameters: str = NOTEBOOK_PARAMETERS,
                   body: str = NOTEBOOK_BODY) -> Path:
    """A notebook with a tagged ``parameters`` cell (default: night, n) and one code cell
    (default: computes on Dask)."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path
