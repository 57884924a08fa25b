"""What can go wrong with batch jobs, each as its own exception with a message that says why.

>>> issubclass(LimitError, BatchError) and issubclass(JobSpecError, ValueError)
True
"""

from __future__ import annotations


class BatchError(Exception):
    """Base of the batch errors; the message explains the problem and the way out."""


class JobSpecError(BatchError, ValueError):
    """The job cannot run as submitted (unknown function, missing notebook, bad parameter).

    Raised at submit time; nothing was queued."""


class LimitError(BatchError, PermissionError):
    """Submitting would exceed one of the user's batch limits; the message names it."""


class UnknownJobError(BatchError, LookupError):
    """No job with this id belongs to the caller (it may not exist, or be someone else's)."""


class JobStateError(BatchError, RuntimeError):
    """The job is not in a state that allows this (e.g. ``result()`` of a running job)."""
