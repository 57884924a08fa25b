"""Raw Zarr chunks read from a real Ceph RGW straight into the tasks' arrays (objectread).

Starts: the session's single-node Ceph (tests/conftest.py) and, for the broken-body test, a
TCP relay on 127.0.0.1 in front of its RGW that cuts the first large response short.
"""

from __future__ import annotations

from collections.abc import Iterator

import dask
import numpy as np
import pytest
import xarray as xr
from relay import Relay
from wisehub.storage.objectread import ChunkSizeError, read_chunk_objects
from wisehub.storage.s3 import S3Storage, storage_options
from wisehub.storage.zarrio import open_zarr

pytestmark = pytest.mark.ceph


def stack(frames: int = 5, rows: int = 64, cols: int = 48) -> np.ndarray:
    return np.random.default_rng(3).standard_normal((frames, rows, cols)).astype("f4")


def write(store: S3Storage, key: str, data: np.ndarray, chunks: tuple[int, ...],
          compressors: object = None) -> str:
    url = store.url(key)
    ds = xr.Dataset({"data": (("frame", "y", "x"), data)})
    ds.to_zarr(url, storage_options=store.storage_options, zarr_format=3, mode="w-",
               encoding={"data": {"chunks": chunks, "compressors": compressors}})
    return url


def reader_of(ds: xr.Dataset) -> str:
    """The kind of getter behind the variable's dask graph."""
    return ds["data"].data.name.split("-")[0]


@pytest.mark.parametrize("chunks", [(2, 64, 48), (2, 32, 24)], ids=["frames", "tiles"])
@pytest.mark.parametrize("per_task", ["one chunk", "every chunk"])
def test_raw_chunks_read_back_exactly_in_any_task_grouping(
        bucket_store: S3Storage, chunks: tuple[int, ...], per_task: str) -> None:
    data = stack()  # 5 frames: the last chunk along the frames is cut at the array's edge
    url = write(bucket_store, f"world/raw-{chunks[1]}.zarr", data, chunks)
    options = bucket_store.storage_options
    opened = xr.open_zarr(url, storage_options=options,
                          chunks={} if per_task == "one chunk" else {"frame": 5, "y": 64, "x": 48})
    ds = read_chunk_objects(opened, url, options, 1 << 20)
    assert reader_of(ds) == "ObjectArray"
    assert ds["data"].data.chunks == opened["data"].data.chunks
    with dask.config.set(scheduler="threads"):
        np.testing.assert_array_equal(ds["data"].values, data)
        np.testing.assert_array_equal(ds["data"][1:4, 5:40, 7:].values, data[1:4, 5:40, 7:])


def test_a_task_of_many_chunks_gets_them_in_its_own_array(bucket_store: S3Storage) -> None:
    data = stack(8)
    url = write(bucket_store, "world/grouped.zarr", data, (1, 64, 48))
    options = bucket_store.storage_options
    ds = read_chunk_objects(xr.open_zarr(url, storage_options=options, chunks={"frame": 8}),
                       url, options, 1 << 20)
    assert ds["data"].data.numblocks == (1, 1, 1)  # eight stored chunks, one task
    block = ds["data"].data.blocks[0, 0, 0].compute(scheduler="sync")
    np.testing.assert_array_equal(block, data)
    assert block.flags.owndata  # the eight chunks copied into one array


def test_a_task_of_one_chunk_is_a_view_of_its_object(bucket_store: S3Storage) -> None:
    data = stack(2)
    url = write(bucket_store, "world/views.zarr", data, (1, 64, 48))
    options = bucket_store.storage_options
    ds = read_chunk_objects(xr.open_zarr(url, storage_options=options, chunks={}), url, options,
                       1 << 20)

    def held(block: np.ndarray) -> np.ndarray:  # inside the task: what the reader handed over
        return np.full((1, 1, 1), isinstance(block.base, np.ndarray)
                       and isinstance(block.base.base, bytes) and not block.flags.writeable)

    views = ds["data"].data.map_blocks(held, chunks=(1, 1, 1), dtype=bool)
    assert views.compute(scheduler="sync").all()  # views of the responses' bytes, no copies
    np.testing.assert_array_equal(ds["data"].values, data)


def test_chunks_never_written_read_as_the_fill_value(bucket_store: S3Storage) -> None:
    data = stack(4)
    url = write(bucket_store, "world/holes.zarr", data, (1, 64, 48))
    bucket_store.fs.rm(f"{url.removeprefix('s3://')}/data/c/2/0/0")
    back = open_zarr(url, bucket_store.storage_options)["data"].values
    assert np.isnan(back[2]).all()  # float arrays' default fill value
    np.testing.assert_array_equal(back[[0, 1, 3]], data[[0, 1, 3]])


def test_a_chunk_object_of_the_wrong_size_is_named_in_the_error(bucket_store: S3Storage) -> None:
    url = write(bucket_store, "world/short.zarr", stack(2), (1, 64, 48))
    key = f"{url.removeprefix('s3://')}/data/c/1/0/0"
    bucket_store.fs.pipe_file(key, b"\0" * 100)
    with pytest.raises(ChunkSizeError, match=r"data/c/1/0/0 holds 100 bytes.*holds 12288"):
        open_zarr(url, bucket_store.storage_options)["data"].load()


def test_compressed_and_sharded_arrays_keep_zarr_s_read(bucket_store: S3Storage) -> None:
    import zarr

    data = stack(4)
    url = write(bucket_store, "world/zstd.zarr", data, (1, 64, 48),
                compressors=zarr.codecs.ZstdCodec())
    ds = open_zarr(url, bucket_store.storage_options)
    assert reader_of(ds) != "ObjectArray"
    np.testing.assert_array_equal(ds["data"].values, data)
    sharded = xr.Dataset({"data": (("frame", "y", "x"), data)})
    url = bucket_store.url("world/sharded.zarr")
    sharded.to_zarr(url, storage_options=bucket_store.storage_options, zarr_format=3,
                    encoding={"data": {"chunks": (1, 32, 48), "shards": (2, 64, 48),
                                       "compressors": None}})
    ds = open_zarr(url, bucket_store.storage_options)
    assert reader_of(ds) != "ObjectArray"
    np.testing.assert_array_equal(ds["data"].values, data)


class CuttingRelay(Relay):
    """A TCP relay to RGW that closes the first connection whose response passes ``cut_at``
    bytes, mid-body: what a client sees when a gateway or the network drops a transfer."""

    def __init__(self, target_port: int, cut_at: int) -> None:
        self.cut_at = cut_at
        self.cuts = 0
        super().__init__(target_port)

    def from_server(self, request: bytes, sent: int, data: bytes) -> tuple[bytes, bool]:
        if self.cuts == 0 and sent + len(data) > self.cut_at:
            self.cuts += 1
            return data[:self.cut_at - sent], True
        return data, False


@pytest.fixture
def relay(ceph) -> Iterator[CuttingRelay]:
    port = int(ceph.endpoint_url.rsplit(":", 1)[1])
    relay = CuttingRelay(port, cut_at=1 << 20)
    yield relay
    relay.close()


def test_a_body_cut_short_is_fetched_again(bucket_store: S3Storage, ceph,
                                           relay: CuttingRelay) -> None:
    data = np.random.default_rng(5).standard_normal((3, 1024, 1024)).astype("f4")  # 4 MiB
    url = write(bucket_store, "world/cut.zarr", data, (1, 1024, 1024))
    options = storage_options(f"http://127.0.0.1:{relay.port}", ceph.admin)
    ds = open_zarr(url, options)
    assert reader_of(ds) == "ObjectArray"
    np.testing.assert_array_equal(ds["data"].values, data)
    assert relay.cuts == 1  # one response was cut mid-body, and its chunk fetched again


def test_dask_worker_processes_read_through_their_own_copy_of_the_reader(
        bucket_store: S3Storage) -> None:
    from distributed import Client, LocalCluster, get_task_stream

    data = stack(6)
    url = write(bucket_store, "world/workers.zarr", data, (1, 64, 48))
    options = bucket_store.storage_options
    ds = read_chunk_objects(xr.open_zarr(url, storage_options=options, chunks={}), url, options,
                       1 << 20)
    assert reader_of(ds) == "ObjectArray"
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        with get_task_stream(client) as tasks:
            total = client.compute(ds["data"].data.sum(dtype="f8")).result()
        workers = set(client.scheduler_info()["workers"])
    assert tasks.data and {task["worker"] for task in tasks.data} <= workers  # not here
    assert total == pytest.approx(data.sum(dtype="f8"), rel=1e-12)
