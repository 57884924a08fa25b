"""Every cluster needs its own credentials: the attack of issue 12 item 2, performed.

Starts: secured LocalClusters (TLS, per-cluster certificates) on 127.0.0.1; a second real OS
account (created here) that knows a cluster's address and tries to use it.
"""

from __future__ import annotations

import copy
import json
import os
import stat

import dask
import pytest
import wisehub as wh
import wisehub.compute.local
from distributed import Client
from wisehub.compute.security import ClusterCredentials
from wisehub.config import Settings

ATTACK = """
import json
from distributed import Client
from distributed.security import Security
address = {address!r}
host_port = address.split("://", 1)[1]
outcomes = {{}}
attempts = {{
    "tcp": lambda: Client("tcp://" + host_port, timeout=5),
    "tls-no-credentials": lambda: Client(address, timeout=5),
    "tls-own-certificate": lambda: Client(address, timeout=5,
                                          security=Security.temporary()),
}}
for name, attempt in attempts.items():
    try:
        client = attempt()
        outcomes[name] = "connected: " + str(client.run(lambda: __import__("os").getuid()))
    except Exception as err:
        outcomes[name] = "refused: " + type(err).__name__
print(json.dumps(outcomes))
"""


@pytest.fixture
def secured(tmp_path):
    client = wh.cluster(1, threads_per_worker=1, memory_limit="300MiB",
                        settings=Settings(data_dir=tmp_path))
    try:
        yield client
    finally:
        client.close()
        client.cluster.close()


def test_local_cluster_is_tls_and_computes_for_its_owner(secured):
    assert secured.scheduler.address.startswith("tls://127.0.0.1:")
    assert secured.submit(sum, [1, 2]).result() == 3
    assert secured.security.require_encryption


def test_cluster_leaves_the_global_dask_config_alone(tmp_path):
    before = copy.deepcopy(dask.config.config)
    with wh.cluster(1, threads_per_worker=1, memory_limit="300MiB",
                    settings=Settings(data_dir=tmp_path)) as client:
        assert client.submit(abs, -2).result() == 2
    client.cluster.close()
    assert dask.config.config == before


def test_another_os_user_holding_the_address_is_refused(secured, other_account):
    address = secured.scheduler.address
    result = other_account.run(ATTACK.format(address=address))
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(outcomes) == {"tcp", "tls-no-credentials", "tls-own-certificate"}
    assert all(o.startswith("refused") for o in outcomes.values()), outcomes
    # The owner's cluster is unharmed by the attempts.
    assert secured.submit(pow, 2, 10).result() == 1024


def test_plain_client_without_credentials_fails(secured):
    host_port = secured.scheduler.address.split("://", 1)[1]
    for address in (f"tcp://{host_port}", secured.scheduler.address):
        with pytest.raises((OSError, TimeoutError, TypeError)):
            # set_as_default=False: a Client sets Dask's global scheduler before it connects,
            # and one that fails to connect never sets it back.
            Client(address, timeout=3, set_as_default=False)


def test_credentials_written_to_disk_are_owner_only(tmp_path):
    credentials = ClusterCredentials.new()
    paths = credentials.write(tmp_path / "tls")
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths.values()} == {0o600}
    assert paths["key"].read_text() == credentials.key
    assert ClusterCredentials.new().key != credentials.key  # per cluster, never shared
    assert os.stat(paths["key"]).st_uid == os.getuid()
