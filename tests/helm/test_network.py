"""The rendered NetworkPolicies, plus the per-user ones the hub creates, allow exactly this.

Evaluated with tests/helm/netpol.py over labelled pods (the labels z2jh, KubeSpawner, the dask
operator and our chart give them). This checks the policy objects, not a CNI enforcing them.
"""

from __future__ import annotations

import pytest
from helmtools import render
from netpol import Endpoint, can_connect
from wisehub.hub.kube import owner_dask_policy
from wisehub.hub.kube_settings import KubeSettings

RGW_IP = "10.20.0.5"  # a private-address RGW, as on many OpenStack clouds
KUBE_API = "10.96.0.1"
KUBE_API_PUBLIC = "203.0.113.10"  # a Magnum cluster's API on a floating IP


def user(name: str) -> Endpoint:
    return Endpoint(f"{name}'s server", {
        "app": "jupyterhub", "component": "singleuser-server",
        "hub.jupyter.org/network-access-hub": "true", "wisehub.org/owner": name})


def dask(name: str, component: str) -> Endpoint:
    return Endpoint(f"{name}'s dask {component}", {
        "dask.org/component": component, "dask.org/cluster-name": f"{name}-1",
        "wisehub.org/owner": name})


HUB = Endpoint("hub", {"app": "jupyterhub", "component": "hub",
                       "hub.jupyter.org/network-access-singleuser": "true"})
PROXY = Endpoint("proxy", {"app": "jupyterhub", "component": "proxy",
                           "hub.jupyter.org/network-access-singleuser": "true"})
COMPUTE = Endpoint("compute", {"app.kubernetes.io/name": "wisehub",
                               "app.kubernetes.io/component": "compute"})
DB = Endpoint("lineage db", {"app.kubernetes.io/name": "wisehub",
                             "app.kubernetes.io/component": "lineage-db"})
DNS = Endpoint("kube-dns", {"k8s-app": "kube-dns"},
               namespace={"kubernetes.io/metadata.name": "kube-system"})
RGW = Endpoint("rgw", ip=RGW_IP)
API = Endpoint("kubernetes api", ip=KUBE_API)
API_PUBLIC = Endpoint("kubernetes api (public)", ip=KUBE_API_PUBLIC)
METADATA = Endpoint("cloud metadata", ip="169.254.169.254")
PYPI = Endpoint("a public host", ip="151.101.0.223")


@pytest.fixture(scope="module")
def policies(chart, tmp_path_factory) -> list[dict]:
    values = tmp_path_factory.mktemp("netpol") / "values.yaml"
    values.write_text(f"s3: {{egress: {{cidrs: [{RGW_IP}/32], ports: [7480]}}}}\n"
                      f"networkPolicy: {{denyCIDRs: [{KUBE_API_PUBLIC}/32]}}\n")
    rendered = [o for o in render(chart, values) if o["kind"] == "NetworkPolicy"]
    kube = KubeSettings()
    return [*rendered, owner_dask_policy("alice", kube), owner_dask_policy("bob", kube)]


ALICE, BOB = user("alice"), user("bob")

ALLOWED = [
    (ALICE, HUB, 8081), (ALICE, PROXY, 8000), (ALICE, DNS, 53), (ALICE, RGW, 7480),
    (ALICE, DB, 5432), (ALICE, COMPUTE, 8000), (ALICE, PYPI, 443),
    (ALICE, dask("alice", "scheduler"), 8786), (ALICE, dask("alice", "scheduler"), 8787),
    (dask("alice", "worker"), dask("alice", "scheduler"), 8786),
    (dask("alice", "scheduler"), dask("alice", "worker"), 40000),
    (dask("alice", "worker"), RGW, 7480), (dask("alice", "worker"), DB, 5432),
    (PROXY, ALICE, 8888), (HUB, ALICE, 8888),
    (COMPUTE, dask("alice", "scheduler"), 8786), (COMPUTE, API, 443),
]
DENIED = [
    (ALICE, BOB, 8888), (BOB, ALICE, 8888),
    (ALICE, dask("bob", "scheduler"), 8786), (BOB, dask("alice", "worker"), 40000),
    (dask("bob", "worker"), dask("alice", "scheduler"), 8786),
    (ALICE, API, 443), (ALICE, API, 6443), (ALICE, API_PUBLIC, 443), (ALICE, METADATA, 80),
    (dask("alice", "worker"), API, 443), (dask("alice", "scheduler"), ALICE, 8888),
    (ALICE, DB, 22), (PYPI, DB, 5432), (DB, PYPI, 443),
    (COMPUTE, DB, 5432),  # the compute service holds no database credentials
]


def _name(case: tuple) -> str:
    return f"{case[0].name}->{case[1].name}:{case[2]}"


@pytest.mark.parametrize("case", ALLOWED, ids=_name)
def test_allowed(policies, case):
    src, dst, port = case
    protocol = "UDP" if port == 53 else "TCP"
    assert can_connect(policies, src, dst, port, protocol)


@pytest.mark.parametrize("case", DENIED, ids=_name)
def test_denied(policies, case):
    src, dst, port = case
    assert not can_connect(policies, src, dst, port)


def test_without_the_owner_policy_nobody_reaches_a_users_dask(chart):
    rendered = [o for o in render(chart) if o["kind"] == "NetworkPolicy"]
    assert not can_connect(rendered, ALICE, dask("alice", "scheduler"), 8786)


def test_private_rgw_is_blocked_unless_listed(chart):
    rendered = [o for o in render(chart) if o["kind"] == "NetworkPolicy"]
    assert not can_connect(rendered, ALICE, RGW, 7480)  # z2jh's privateIPs: false, kept
