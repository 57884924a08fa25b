"""wh.cluster() and progress against a real LocalCluster; reductions on it, memory bounded."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import wisehub as wh
import xarray as xr
from distributed import Client
from wisehub.compute import compute, dashboard_link_template, local_size
from wisehub.config import Settings


def test_local_size_splits_cpus_and_memory():
    assert local_size(cpus=4, memory=4_000_000_000) == (
        wh.compute.LocalSize(workers=4, threads=1, memory=900_000_000))
    assert local_size(2, cpus=8, memory=2**30).threads == 4
    with pytest.raises(ValueError, match="at least one worker"):
        local_size(0)


def test_dashboard_goes_through_the_hub_proxy(local_cluster, monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    assert dashboard_link_template() == "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"
    settings = Settings(data_dir=tmp_path, scheduler_address=local_cluster.scheduler_address)
    with wh.cluster(settings=settings) as client:
        port = local_cluster.scheduler.http_server.port
        assert client.dashboard_link == f"/user/ada/proxy/{port}/status"
        assert client.scheduler.address == local_cluster.scheduler_address
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX")
    assert dashboard_link_template() == dask.config.get("distributed.dashboard.link")


def test_cluster_starts_a_local_cluster_of_the_asked_size(tmp_path):
    with wh.cluster(1, threads_per_worker=1, memory_limit="300MiB",
                    settings=Settings(data_dir=tmp_path)) as client:
        workers = client.scheduler_info()["workers"].values()
        assert [(w["nthreads"], w["memory_limit"]) for w in workers] == [(1, 300 * 2**20)]
        assert client.submit(sum, [1, 2]).result() == 3
    client.cluster.close()


def test_combine_on_the_cluster_with_progress(local_cluster, capsys):
    rng = np.random.default_rng(5)
    data = rng.normal(100, 5, (16, 64, 48)).astype(np.float32)
    data[3, 10, 10] = 1e4
    stack = xr.DataArray(data, dims=("frame", "y", "x")).chunk({"frame": 4})
    with Client(local_cluster):
        result = compute(wh.reduce.combine(stack, "sigma_clip", tile_bytes=16 * 4 * 48 * 16),
                         description="sigma-clip")
    with dask.config.set(scheduler="sync"):
        expected = wh.reduce.combine(stack, "sigma_clip").compute()
    np.testing.assert_array_equal(result.values, expected.values)
    assert "sigma-clip" in capsys.readouterr().err  # the bar was drawn


def test_a_stack_larger_than_the_workers_memory_completes(local_cluster):
    """1.3 GB of frames stored in tiles over space, through two workers of 600 MiB each:
    every task holds one tile of every frame and hands on only its combined tile."""
    frames = 320
    data = da.random.default_rng(1).random((frames, 1024, 1024), dtype=np.float32,
                                           chunks=(-1, 32, -1))
    stack = xr.DataArray(data, dims=("frame", "y", "x"))
    with Client(local_cluster) as client:
        limits = [w["memory_limit"] for w in client.scheduler_info()["workers"].values()]
        assert stack.nbytes > sum(limits)
        # One task per stored tile (the stack's chunks are larger than the default task size).
        median = wh.reduce.combine(stack, "median", tile_bytes=data.nbytes // 32)
        assert median.data.npartitions == 32
        level = float(median.mean().compute())
    assert level == pytest.approx(0.5, abs=0.01)


def test_a_client_becomes_the_default_only_once_connected(local_cluster):
    """A Client that fails to connect must leave Dask's global scheduler alone; a plain
    distributed.Client sets it first and never sets it back."""
    import socket

    from distributed import default_client
    from wisehub.compute.linked import LinkedClient

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = dask.config.get("scheduler", None)
    # Nobody listening; and a TLS address without credentials, which a plain Client fails
    # with a TypeError that skips its own clean-up.
    for address, error in ((f"tcp://127.0.0.1:{port}", OSError),
                           (f"tls://127.0.0.1:{port}", TypeError)):
        with pytest.raises(error):
            LinkedClient(address, timeout=2)
        assert dask.config.get("scheduler", None) == before
    with pytest.raises(ValueError, match="No clients found"):
        default_client()
    with LinkedClient(local_cluster.scheduler_address) as client:
        assert default_client() is client
        assert dask.config.get("scheduler") == "dask.distributed"
        assert da.ones(4, chunks=2).sum().compute() == 4  # a plain compute uses it
    assert dask.config.get("scheduler", None) == before
    with pytest.raises(ValueError, match="No clients found"):
        default_client()
    with LinkedClient(local_cluster.scheduler_address, set_as_default=False), \
            pytest.raises(ValueError, match="No clients found"):
        default_client()
