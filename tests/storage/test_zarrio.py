"""How Zarr products are chunked for reading, and written with enough requests in flight."""

from __future__ import annotations

import threading
from pathlib import Path

import dask
import dask.array as da
import fsspec
import intake
import numpy as np
import xarray as xr
from wisehub.catalog.publish import publish
from wisehub.config import Settings
from wisehub.storage.store import TRANSFER_THREADS, Storage
from wisehub.storage.zarrio import open_zarr, read_chunks, task_bytes


def stack(frames: int, tile: int, size: int = 256, coords: bool = False) -> xr.Dataset:
    data = da.zeros((frames, size, size), chunks=(1, tile, tile), dtype=np.float32)
    ds = xr.Dataset({"data": (("frame", "y", "x"), data)})
    if coords:
        ds = ds.assign_coords(exptime=("frame", np.arange(frames, dtype=float)))
    return ds


def test_small_stored_chunks_are_read_whole_and_grouped_up_to_the_target(
        tmp_path: Path) -> None:
    stack(64, 64).to_zarr(tmp_path / "s.zarr")
    ds = open_zarr(str(tmp_path / "s.zarr"))
    task = ds["data"].data.chunksize
    # 16 KiB stored chunks: all 64 frames, then whole tiles in y until 16 MiB is reached.
    assert task[0] == 64 and task[1] % 64 == 0 and task[2] % 64 == 0
    assert np.prod(task) * 4 <= task_bytes()
    assert ds["data"].data.npartitions < 16 * 16  # far fewer tasks than stored chunks


def test_chunks_at_the_target_size_stay_one_per_task(tmp_path: Path) -> None:
    ds = xr.Dataset({"data": (("frame", "y", "x"),
                              da.zeros((3, 2048, 2048), chunks=(1, 2048, 2048), dtype="f4"))})
    ds.to_zarr(tmp_path / "big.zarr")
    layout = xr.open_zarr(tmp_path / "big.zarr", chunks=None)
    assert read_chunks(layout) == {}
    assert open_zarr(str(tmp_path / "big.zarr"))["data"].data.chunksize == (1, 2048, 2048)


def test_grouping_never_splits_another_variables_stored_chunk(tmp_path: Path) -> None:
    ds = stack(8, 64, coords=True)
    ds["exptime"].encoding["chunks"] = (8,)  # one stored chunk for all frames
    ds.to_zarr(tmp_path / "c.zarr")
    layout = xr.open_zarr(tmp_path / "c.zarr", chunks=None)
    chunks = read_chunks(layout)
    assert chunks.get("frame", 8) == 8  # all eight frames, or the stored chunking
    back = open_zarr(str(tmp_path / "c.zarr"))
    xr.testing.assert_identical(back.compute(), ds.compute())


def test_a_small_variable_does_not_make_a_large_ones_tasks_grow() -> None:
    ds = xr.Dataset({"image": (("frame", "y", "x"), np.zeros((32, 2048, 2048), "f4")),
                     "flux": (("frame", "star"), np.zeros((32, 10), "f4"))})
    ds["image"].encoding["chunks"] = (1, 2048, 2048)  # 16 MiB: one per task
    ds["flux"].encoding["chunks"] = (1, 10)  # tiny: would group all 32 frames
    assert "frame" not in read_chunks(ds)


def test_published_entries_read_small_chunks_grouped_through_plain_intake(
        tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", user="ada")
    catalog = tmp_path / "products.yaml"
    publish(stack(16, 32), "tiles", catalog, privilege="world", settings=settings)
    back = intake.from_yaml_file(str(catalog))["tiles"].read()
    assert back["data"].data.chunksize[0] == 16  # not one 4 KiB task per stored chunk
    assert back["data"].data.npartitions < 16 * 8 * 8


def test_staged_writes_to_object_storage_run_more_threads_than_cores() -> None:
    seen: set[int] = set()
    barrier = threading.Barrier(4, timeout=10)

    def wait_for_others(block: np.ndarray) -> np.ndarray:
        seen.add(threading.get_ident())
        barrier.wait()  # only returns if four tasks run at the same time
        return block

    work = da.zeros(8, chunks=1).map_blocks(wait_for_others, meta=np.array((), "f8"))
    objects = Storage(fsspec.filesystem("memory"), "/bucket", "memory", {})
    with dask.config.set(scheduler="threads"), objects.staged("world/x") as write:
        assert dask.config.get("pool")._max_workers >= TRANSFER_THREADS
        work.compute()
        objects.fs.pipe_file(write.url, b"done")
    assert len(seen) >= 4
    assert objects.fs.cat_file(objects.url("world/x")) == b"done"


def test_staged_local_writes_keep_the_schedulers_threads(tmp_path: Path) -> None:
    before = dask.config.get("num_workers", None), dask.config.get("pool", None)
    local = Storage.local(str(tmp_path))
    with local.staged("world/x") as write:
        assert (dask.config.get("num_workers", None), dask.config.get("pool", None)) == before
        local.fs.pipe_file(write.url, b"done")
