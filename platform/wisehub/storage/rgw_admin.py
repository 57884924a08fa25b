"""A small client for the Ceph RADOS Gateway admin API: users, keys and quotas.

The platform provisions one RGW user (with its own keys) per platform user through this API,
signed like any S3 request with the platform's admin credentials (an RGW user with
``users=*;buckets=*`` caps). It needs no cluster keyring, so it works from a hub pod too.

>>> admin = RGWAdmin("http://127.0.0.1:7480", S3Credentials("AK", "sk"))
>>> admin
RGWAdmin('http://127.0.0.1:7480')
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from wisehub import names
from wisehub.storage.credentials import S3Credentials


class RGWAdminError(RuntimeError):
    """The RGW admin API refused or failed a request; the message names the endpoint."""


class RGWAdmin:
    """Users, keys and quotas on one RGW, via its ``/admin`` REST API."""

    def __init__(self, endpoint_url: str, credentials: S3Credentials,
                 region: str = "us-east-1", timeout: float = 30) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self._signer = S3SigV4Auth(
            Credentials(credentials.access_key, credentials.secret_key), "s3", region)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"RGWAdmin({self.endpoint_url!r})"

    def _call(self, method: str, resource: str, params: dict[str, str],
              sub_resource: str | None = None) -> Any:
        query = urllib.parse.urlencode({"format": "json", **params})
        if sub_resource:  # RGW knows ``?quota`` only as a bare word, never as ``quota=``
            query = f"{sub_resource}&{query}"
        url = f"{self.endpoint_url}/admin/{resource}?{query}"
        request = AWSRequest(method=method, url=url)
        self._signer.add_auth(request)
        prepared = urllib.request.Request(url, method=method,
                                          headers=dict(request.headers.items()))
        try:
            with urllib.request.urlopen(prepared, timeout=self.timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as err:
            code = _error_code(err.read())
            raise RGWAdminError(f"RGW admin API at {self.endpoint_url}: {method} {resource} "
                                f"failed with {err.code} {code}") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise RGWAdminError(f"RGW admin API at {self.endpoint_url} is not reachable "
                                f"({reason})") from None
        return json.loads(text) if text else None

    def user(self, uid: str) -> dict[str, Any] | None:
        """The RGW user ``uid`` (a dict as RGW returns it), or ``None`` if there is none."""
        try:
            return self._call("GET", "user", {"uid": uid})
        except RGWAdminError as err:
            if "NoSuchUser" in str(err) or " 404 " in str(err):
                return None
            raise

    def ensure_user(self, uid: str, display_name: str | None = None) -> S3Credentials:
        """Create RGW user ``uid`` with generated keys, or return the keys it already has.

        ``uid`` must follow the platform's name rule (:mod:`wisehub.names`).
        """
        names.check(uid)
        info = self.user(uid) or self._call(
            "PUT", "user", {"uid": uid, "display-name": display_name or uid,
                            "generate-key": "true"})
        key = next(k for k in info["keys"] if k["user"] == uid)
        return S3Credentials(key["access_key"], key["secret_key"])

    def remove_user(self, uid: str) -> None:
        """Delete RGW user ``uid`` (its data in buckets it does not own stays)."""
        self._call("DELETE", "user", {"uid": uid})

    def set_bucket_quota(self, bucket: str, owner: str, *, max_bytes: int,
                         max_objects: int = -1) -> None:
        """Limit one bucket to ``max_bytes`` (rounded up to KiB) and ``max_objects`` (-1: any)."""
        params = {"uid": owner, "bucket": bucket, **_quota(max_bytes, max_objects)}
        self._call("PUT", "bucket", params, sub_resource="quota")


def _quota(max_bytes: int, max_objects: int) -> dict[str, str]:
    # As query parameters (RGW refuses a signed JSON body on admin requests with 501); RGW
    # takes the size in KiB here.
    return {"enabled": "true", "max-size-kb": str(-(-max_bytes // 1024)),
            "max-objects": str(max_objects)}


def _error_code(body: bytes) -> str:
    try:
        return str(json.loads(body).get("Code", ""))
    except (ValueError, AttributeError):
        return ""
