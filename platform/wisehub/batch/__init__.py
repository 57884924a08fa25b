"""Batch jobs that outlive the kernel, the user's server and the hub: submit, follow, collect.

A job runs a function (by reference or by value) or a notebook (papermill) on a Dask cluster
of its own, as a detached, supervised process; its state lives on disk, its outputs become
lineage products. See ``docs/batch.md``.

>>> import tempfile
>>> from wisehub.config import Settings
>>> len(jobs(backend=LocalBackend(Settings(data_dir=tempfile.mkdtemp()))))
0
"""

from wisehub.batch.errors import (
           BatchError,
           JobSpecError,
           JobStateError,
           LimitError,
           UnknownJobError,
)
from wisehub.batch.job import Job, JobList
from wisehub.batch.local import LocalBackend
from wisehub.batch.settings import BatchLimits, BatchSettings
from wisehub.batch.submit import job, jobs, submit

__all__ = ["BatchError", "BatchLimits", "BatchSettings", "Job", "JobList", "JobSpecError",
           "JobStateError", "LimitError", "LocalBackend", "UnknownJobError", "job", "jobs",
           "submit"]
