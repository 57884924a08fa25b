"""Raw Zarr chunks read from a real Ceph RGW straight into the tasks' arrays (objectread).

Starts: the session's single-node Ceph (tests/conftest.py) and, for the broken-body and
read-ahead tests, a TCP relay on 127.0.0.1 in front of its RGW, which cuts the first large
response short or records the requests that pass.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import dask
import numpy as np
import pytest
import xarray as xr
from relay import Relay
from wisehub.storage import objectread
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


@pytest.fixture
def recording_relay(ceph) -> Iterator[Relay]:
    """A relay that passes everything and keeps each connection's requests."""
    relay = Relay(int(ceph.endpoint_url.rsplit(":", 1)[1]))
    yield relay
    relay.close()


def chunk_gets(relay: Relay) -> list[int]:
    """The frames whose chunk object was fetched through ``relay``, in no particular order."""
    sent = b"".join(bytes(request) for request in relay.requests)
    return sorted(int(frame) for frame in re.findall(rb"GET /[^ ]*/data/c/(\d+)/0/0 ", sent))


def gets_reach(relay: Relay, expected: list[int]) -> list[int]:
    """:func:`chunk_gets` once it is ``expected`` (fetches ahead run in the background), or
    as it stands after 10 s."""
    deadline = time.monotonic() + 10
    while (seen := chunk_gets(relay)) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return seen


def through(relay: Relay, ceph, url: str, chunks: dict[str, int]) -> xr.Dataset:
    """The store at ``url`` read through ``relay``, in dask ``chunks``, with the object reader."""
    options = storage_options(f"http://127.0.0.1:{relay.port}", ceph.admin)
    ds = read_chunk_objects(xr.open_zarr(url, storage_options=options, chunks=chunks), url,
                            options, 1 << 20)
    assert reader_of(ds) == "ObjectArray"
    return ds


def test_a_scan_of_one_chunk_tasks_has_more_gets_in_flight_than_threads(
        bucket_store: S3Storage, ceph, recording_relay: Relay,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import s3fs

    data = stack(12)
    url = write(bucket_store, "world/ahead.zarr", data, (1, 64, 48))
    ds = through(recording_relay, ceph, url, {})
    in_flight, peak = 0, 0
    fetch = s3fs.S3FileSystem._cat_file

    async def counted(fs: s3fs.S3FileSystem, path: str, *args, **kwargs) -> bytes:
        nonlocal in_flight, peak  # every call runs on s3fs's one event loop
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await fetch(fs, path, *args, **kwargs)
        finally:
            in_flight -= 1

    monkeypatch.setattr(s3fs.S3FileSystem, "_cat_file", counted)  # s3fs's GET, still made
    with dask.config.set(scheduler="threads", num_workers=2):
        np.testing.assert_array_equal(ds["data"].values, data)
    assert chunk_gets(recording_relay) == list(range(12))  # each chunk fetched once
    assert peak > 2  # two threads alone keep two GETs in flight


def test_a_lone_read_fetches_its_chunk_only_and_a_run_the_chunks_after_it(
        bucket_store: S3Storage, ceph, recording_relay: Relay) -> None:
    data = stack(12)
    url = write(bucket_store, "world/run.zarr", data, (1, 64, 48))
    ds = through(recording_relay, ceph, url, {})
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(ds["data"][4].values, data[4])
        assert chunk_gets(recording_relay) == [4]
        np.testing.assert_array_equal(ds["data"][5].values, data[5])
        assert gets_reach(recording_relay, list(range(4, 12))) == list(range(4, 12))  # 6-11 ahead
        np.testing.assert_array_equal(ds["data"][6:12].values, data[6:12])
        assert chunk_gets(recording_relay) == list(range(4, 12))  # taken, not fetched again
        grouped = through(recording_relay, ceph, url, {"frame": 2})
        np.testing.assert_array_equal(grouped["data"][0:4].values, data[0:4])
    assert chunk_gets(recording_relay) == [0, 1, 2, 3, *range(4, 12)]  # tasks of two: no more


def test_chunks_fetched_ahead_and_not_taken_are_dropped(
        bucket_store: S3Storage, ceph, recording_relay: Relay,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(objectread, "READ_AHEAD_SECONDS", 0.3)
    data = stack(8)
    url = write(bucket_store, "world/dropped.zarr", data, (1, 64, 48))
    ds = through(recording_relay, ceph, url, {})
    with dask.config.set(scheduler="sync"):
        for frame in (0, 1):  # 1 after 0: fetches 2 to 7 ahead
            np.testing.assert_array_equal(ds["data"][frame].values, data[frame])
        assert gets_reach(recording_relay, list(range(8))) == list(range(8))
        time.sleep(1.5)  # they are dropped 0.3 s after they arrive
        np.testing.assert_array_equal(ds["data"][2].values, data[2])
    again = [0, 1, *sorted(2 * list(range(2, 8)))]  # 2 fetched again, and 3 to 7 ahead again
    assert gets_reach(recording_relay, again) == again


def test_a_bad_chunk_fetched_ahead_fails_the_read_that_takes_it(
        bucket_store: S3Storage, ceph, recording_relay: Relay) -> None:
    data = stack(6)
    url = write(bucket_store, "world/bad-ahead.zarr", data, (1, 64, 48))
    bucket_store.fs.pipe_file(f"{url.removeprefix('s3://')}/data/c/3/0/0", b"\0" * 100)
    ds = through(recording_relay, ceph, url, {})
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(ds["data"][1].values, data[1])
        np.testing.assert_array_equal(ds["data"][2].values, data[2])  # 3 to 5 fetched ahead
        assert gets_reach(recording_relay, [1, 2, 3, 4, 5]) == [1, 2, 3, 4, 5]
        with pytest.raises(ChunkSizeError, match=r"data/c/3/0/0 holds 100 bytes"):
            ds["data"][3].load()
        np.testing.assert_array_equal(ds["data"][4:6].values, data[4:6])


def test_open_zarr_reads_the_store_s_metadata_once(bucket_store: S3Storage, ceph,
                                                  recording_relay: Relay) -> None:
    data = stack(4)
    url = write(bucket_store, "world/metadata-once.zarr", data, (1, 64, 48))
    options = storage_options(f"http://127.0.0.1:{recording_relay.port}", ceph.admin)
    ds = open_zarr(url, options)
    assert reader_of(ds) == "ObjectArray"
    sent = b"".join(bytes(request) for request in recording_relay.requests)
    assert re.findall(rb"(GET|HEAD) /[^ ]*metadata-once\.zarr/([^ ]*zarr\.json) ", sent) == [
        (b"GET", b"zarr.json")]  # the root's, holding every array's (consolidated)
    np.testing.assert_array_equal(ds["data"].values, data)
