"""Compute Dask collections with a progress bar that works in notebooks and terminals.

On a distributed client the bar counts finished tasks of the persisted collection; on the
local schedulers it uses tqdm's Dask callback. ``tqdm.auto`` draws a widget in Jupyter.

>>> import dask.array as da
>>> float(compute(da.ones(4, chunks=2).sum(), show=False))
4.0
"""

from __future__ import annotations

from typing import Any

import dask
from distributed import as_completed, futures_of, get_client
from tqdm.auto import tqdm
from tqdm.dask import TqdmCallback


def _client() -> Any:
    try:
        return get_client()
    except ValueError:
        return None


def compute(collection: Any, description: str = "computing", show: bool = True) -> Any:
    """``collection.compute()``, showing progress unless ``show`` is False."""
    client = _client()
    if client is None:
        with TqdmCallback(desc=description, disable=not show):
            return dask.compute(collection)[0]
    persisted = client.persist(collection)
    futures = futures_of(persisted)
    with tqdm(total=len(futures), desc=description, disable=not show) as bar:
        for _ in as_completed(futures):
            bar.update()
    return client.compute(persisted).result()
