"""Checking a job's target in the job's own environment: ``python -m wisehub.batch.check``.

The compute service checks what a REST caller submits exactly as the library does
(:mod:`wisehub.batch.spec`), but not in its own process: naming ``package.module:function``
imports that module, and the service holds the hub token of a service. So it runs this
module with the job's environment (no service token) and cwd; it reads
``{"kind", "target", "parameters", "home"}`` as JSON on stdin and prints
``{"target", "code_version"}``, or ``{"error"}`` for a target the library would refuse.

>>> check({"kind": "function", "target": "math:nope", "home": "/"})
{'error': "function 'math:nope': module 'math' has no attribute 'nope'"}
>>> check({"kind": "function", "target": "math:sqrt", "home": "/"})["target"]
'math:sqrt'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from wisehub.batch.errors import JobSpecError
from wisehub.batch.spec import function_target, notebook_target


def check(spec: dict[str, Any]) -> dict[str, str]:
    """The checked target and its code version, or the reason it is refused."""
    home = Path(spec["home"])
    try:
        if spec["kind"] == "notebook":
            target = notebook_target(spec["target"], spec.get("parameters") or {}, home)
        else:
            target = function_target(spec["target"], home)
    except JobSpecError as err:
        return {"error": str(err)}
    return {"target": target.target, "code_version": target.code_version}


def main() -> int:
    """Entry point: one check from stdin to stdout."""
    print(json.dumps(check(json.loads(sys.stdin.read()))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
