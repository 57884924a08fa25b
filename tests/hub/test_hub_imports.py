"""The hub's process stays light: what it hosts (idle culler, share sync, group guard, compute
and publishing) brings no science library into it.

A fresh interpreter does what the hub's process does before it serves: it imports the hub
application, configures it for local mode, and brings every hosted service up (compute
rediscovers its clusters, publishing migrates its records table and listens). Only then does
it list what was imported. A handler that needs numpy, astropy or lxml imports it on its first
request, which the second half of the test makes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCIENCE = ("numpy", "dask", "distributed", "xarray", "zarr", "numba", "astropy", "pandas",
           "scipy", "intake", "fsspec", "s3fs", "lxml", "prov", "datacite", "h5py", "uproot",
           "pyarrow", "kubernetes_asyncio")

PROBE = """
import asyncio, json, sys
from pathlib import Path

import requests
from traitlets.config import Config

import wisehub.hub.app  # the hub's own entry point
from wisehub.config import load_settings
from wisehub.hub import configure

SCIENCE = set(json.loads(sys.argv[2]))
settings = load_settings(data_dir=Path(sys.argv[1]), hub={"demo_password": "probe-pass-1"})
c = Config()
configure(c, settings)
services = c.WisehubHub.hosted_services


def loaded():
    return sorted({m.split(".")[0] for m in sys.modules} & SCIENCE)


async def main():
    for service in services:
        await service.listen()
    up = loaded()
    publish = next(s for s in services if s.identity.name == "publish")
    base = publish.identity.url.rstrip("/") + publish.identity.prefix
    cone = await asyncio.to_thread(requests.get, base + "scs/stars",
                                   params={"RA": 10, "DEC": 0, "SR": 1}, timeout=60)
    for service in services:
        await service.stop()
    return {"names": [s.identity.name for s in services], "up": up, "cone": cone.status_code,
            "cone_body": cone.text[:200], "after_cone": loaded()}


print(json.dumps(asyncio.run(main())))
"""


def test_hub_process_with_every_hosted_service_up_imports_no_science_library(tmp_path: Path):
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), json.dumps(SCIENCE)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"idle-culler", "wisehub-share-sync", "compute", "publish"} <= set(report["names"])
    assert report["up"] == [], f"the hub's process imported {report['up']}"
    # The first cone search is answered, and only then is numpy (with astropy) loaded.
    assert report["cone"] == 200 and "VOTABLE" in report["cone_body"].upper()
    assert {"numpy", "astropy"} <= set(report["after_cone"])
