"""The compute service's REST API, from a user's side (``wh.cluster``, ``wh.clusters``, CLI).

Inside a user server the hub sets ``JUPYTERHUB_API_TOKEN`` and wisehub's hub configuration sets
``WISEHUB_COMPUTE_URL``; :meth:`ComputeAPI.from_environment` finds both.

>>> ComputeAPI("http://127.0.0.1:1/services/compute/", "t").url
'http://127.0.0.1:1/services/compute/'
"""

from __future__ import annotations

import os
from typing import Any

import dask.utils
import requests
from distributed import Client

from wisehub.compute.linked import LinkedClient
from wisehub.compute.security import ClusterCredentials
from wisehub.compute.settings import POD_NAME_ENV, POD_UID_ENV, URL_ENV

"""Set in a user pod from the downward API (``metadata.name``, ``metadata.uid``)."""


def server_identity() -> dict[str, Any]:
    """What a Kubernetes user server tells the service about itself: its image (workers run
    the same) and its pod (the cluster goes with it). Empty outside Kubernetes.

    >>> server_identity() == {}
    True
    """
    found: dict[str, Any] = {}
    if image := os.environ.get("JUPYTER_IMAGE_SPEC"):
        found["image"] = image
    name, uid = os.environ.get(POD_NAME_ENV), os.environ.get(POD_UID_ENV)
    if name and uid:
        found["owner_pod"] = {"name": name, "uid": uid}
    return found


class ComputeError(RuntimeError):
    """The compute service refused a request; the message is the service's reason."""

    status: int | None = None
    """The HTTP status of the refusal."""


class ComputeAPI:
    """Calls to the compute service at ``url`` with a hub ``token``."""

    def __init__(self, url: str, token: str, timeout: float = 120) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_environment(cls) -> ComputeAPI | None:
        """The service of the hub this process runs under, or None outside one."""
        url, token = os.environ.get(URL_ENV), os.environ.get("JUPYTERHUB_API_TOKEN")
        return cls(url, token) if url and token else None

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``<url><path>``; the decoded JSON reply, or :class:`ComputeError`."""
        reply = requests.request(method, self.url + path, json=body, timeout=self.timeout,
                                 headers={"Authorization": f"token {self.token}"})
        if reply.status_code >= 400:
            try:
                reason = reply.json().get("message", reply.text)
            except ValueError:
                reason = reply.text[:300]
            error = ComputeError(f"{method} {path}: {reply.status_code} {reason}")
            error.status = reply.status_code
            raise error
        return reply.json() if reply.content else None

    def create(self, workers: int = 1, *, adaptive: bool = False, minimum: int = 1,
               cores: float | None = None, memory: int | str | None = None) -> dict:
        """Ask for a cluster; its description (with ``id``) once its scheduler is up."""
        body: dict[str, Any] = {"workers": workers}
        if adaptive:
            body = {"adaptive": {"minimum": minimum, "maximum": workers}}
        if cores is not None:
            body["worker_cores"] = cores
        if memory is not None:
            body["worker_memory"] = dask.utils.parse_bytes(memory)
        return self.request("POST", "clusters", {**body, **server_identity()})

    def list(self) -> list[dict]:
        """The caller's clusters (every cluster, for an admin)."""
        return self.request("GET", "clusters")["clusters"]

    def get(self, cluster_id: str) -> dict:
        """One cluster's description."""
        return self.request("GET", f"clusters/{cluster_id}")

    def scale(self, cluster_id: str, workers: int | None = None,
              adaptive: tuple[int, int] | None = None) -> dict:
        """Scale to ``workers``, or adaptively between ``adaptive=(minimum, maximum)``."""
        body: dict[str, Any] = ({"workers": workers} if adaptive is None else
                                {"adaptive": {"minimum": adaptive[0], "maximum": adaptive[1]}})
        return self.request("PATCH", f"clusters/{cluster_id}", body)

    def delete(self, cluster_id: str) -> None:
        """Stop and forget a cluster."""
        self.request("DELETE", f"clusters/{cluster_id}")

    def connect(self, cluster_id: str) -> Client:
        """A client on one of the caller's clusters (the service hands out its credentials)."""
        details = self.request("GET", f"clusters/{cluster_id}/connection")
        security = ClusterCredentials.from_dict(details["credentials"]).security()
        return LinkedClient(details["address"], security=security,
                            dashboard_link=details["dashboard_link"])

    def cluster(self, workers: int = 1, *, adaptive: bool = False, cores: float | None = None,
                memory: int | str | None = None) -> Client:
        """Create a cluster and return a client on it."""
        made = self.create(workers, adaptive=adaptive, cores=cores, memory=memory)
        return self.connect(made["id"])


def clusters() -> list[dict]:
    """The clusters the compute service holds for you (inside a hub server).

    Outside a hub server there is no service to ask:

    >>> clusters()
    Traceback (most recent call last):
    ...
    wisehub.compute.api_client.ComputeError: no compute service here: ...

    Inside one::

        clusters()  # [{'id': 'c-1f2e…', 'owner': 'ada', 'workers': 2, ...}]
    """
    service = ComputeAPI.from_environment()
    if service is None:
        raise ComputeError(f"no compute service here: {URL_ENV} and JUPYTERHUB_API_TOKEN are "
                           "set only inside a hub server")
    return service.list()
