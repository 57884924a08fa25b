"""Product storage on S3 (Ceph RGW or any S3 endpoint) through s3fs.

>>> from wisehub.config import Settings
>>> settings = Settings(storage="s3", s3={"endpoint_url": "http://127.0.0.1:7480",
...                                      "access_key": "AK", "secret_key": "sk"})
>>> s3_storage(settings)
S3Storage('s3://wisehub' at http://127.0.0.1:7480)
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import fsspec
import s3fs
from aiobotocore.session import AioSession

from wisehub.config import Settings, get_settings
from wisehub.storage.credentials import S3Credentials, resolve_credentials
from wisehub.storage.errors import StorageError, translate
from wisehub.storage.store import (
    ManifestLine,
    StagedWrite,
    Storage,
    content_md5,
    join_key,
    lease_key,
)
from wisehub.storage.zarrkeys import METADATA_NAMES, metadata_last

_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")


def storage_options(endpoint_url: str, credentials: S3Credentials,
                    region: str = "us-east-1") -> dict[str, Any]:
    """s3fs options (also for xarray/zarr ``storage_options``) for an endpoint.

    Retries are bounded so that an endpoint that went away is reported within seconds.
    ``max_concurrency=1``: Zarr already fetches many chunks at once, and with s3fs's
    per-object concurrency every chunk read would cost an extra HEAD request first.

    >>> sorted(storage_options("http://127.0.0.1:7480", S3Credentials("AK", "sk")))
    ['client_kwargs', 'config_kwargs', 'endpoint_url', 'key', 'max_concurrency', 'secret']
    """
    return {
        "key": credentials.access_key,
        "secret": credentials.secret_key,
        "endpoint_url": endpoint_url,
        "max_concurrency": 1,
        "client_kwargs": {"region_name": region},
        "config_kwargs": {"retries": {"max_attempts": 3, "mode": "standard"},
                          "connect_timeout": 5, "read_timeout": 120},
    }


def s3_env(endpoint_url: str, credentials: S3Credentials, bucket: str) -> dict[str, str]:
    """Env vars pointing wisehub *and* plain-intake catalogue entries at an S3 bucket.

    wisehub reads ``WISEHUB_STORAGE``/``WISEHUB_S3__*``; catalogue entries template
    ``S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
    ``WISEHUB_S3_BUCKET`` (see ``catalogs/ceph.yaml``).

    >>> env = s3_env("http://127.0.0.1:7480", S3Credentials("AK", "sk"), "wisehub")
    >>> env["S3_ENDPOINT_URL"], env["WISEHUB_S3__BUCKET"]
    ('http://127.0.0.1:7480', 'wisehub')
    """
    return {
        "WISEHUB_STORAGE": "s3",
        "WISEHUB_S3__ENDPOINT_URL": endpoint_url,
        "WISEHUB_S3__BUCKET": bucket,
        "WISEHUB_S3__ACCESS_KEY": credentials.access_key,
        "WISEHUB_S3__SECRET_KEY": credentials.secret_key,
        "S3_ENDPOINT_URL": endpoint_url,
        "WISEHUB_S3_BUCKET": bucket,
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
    }


class S3Storage(Storage):
    """Storage in one S3 bucket; errors name the endpoint and never the secret."""

    def _translate(self, err: BaseException, doing: str, consequence: str = "") -> BaseException:
        return translate(err, endpoint=str(self.endpoint), doing=doing,
                         credentials_ok=self.credentials_ok,
                         access_key=self.storage_options.get("key", ""),
                         consequence=consequence)

    def credentials_ok(self) -> bool:
        """Whether the endpoint accepts these credentials (one ``ListBuckets`` call)."""
        try:
            self.fs.call_s3("list_buckets")
        except Exception:
            return False
        return True

    def _md5(self, path: str, info: dict[str, Any]) -> str:
        etag = str(info.get("ETag", "")).strip('"')
        # A single-part upload's ETag is the MD5 RGW computed on receipt; a multipart one
        # is not a content hash, so read those.
        return etag if _PLAIN_MD5.match(etag) else super()._md5(path, info)

    #: No rename on S3: chunks go to the final key, the metadata is held back until the commit.
    writes_in_place = True

    def _staged_write(self, final: str, staging: str) -> StagedWrite:
        return StagedWrite(self._url_of(final), dict(self.storage_options), held={})

    def _commit(self, write: StagedWrite, final: str, target: str) -> list[ManifestLine]:
        """Write the held-back Zarr metadata in (the root's last), then verify by listing.

        A write that did not go through :meth:`StagedWrite.to_zarr` (one object, or a Zarr
        written to ``write.url`` directly) has nothing held back and is complete already.
        """
        from wisehub.storage.commitstore import held_objects

        held = held_objects(write.held or {}, consolidate=write.consolidate)
        for batch in metadata_last(held):
            self.fs.pipe({join_key(final, name): held[name] for name in batch})
        manifest = self._manifest(final)
        if not manifest:
            raise StorageError(f"nothing was written for {target}; write to the "
                               "staged url (StagedWrite.url) inside the block")
        expected = {(name, len(blob), content_md5(blob))
                    for name, blob in held.items()}
        if not expected <= set(manifest):
            raise StorageError(f"{target}: the committed metadata differs from the held "
                               "metadata; nothing was registered, please retry")
        return manifest

    def swap(self, new_key: str, key: str) -> None:
        """Replace the data at ``key`` by the complete data at ``new_key`` (no rename on S3).

        The old data is removed only now that the new is complete, then the new copied in
        (metadata last, verified) and its staged copy removed. Should the copy fail, the new
        data is still complete at ``new_key``, and the error says so.
        """
        self.delete(key)
        try:
            self.copy(new_key, key)
        except StorageError as err:
            raise StorageError(f"{err}; the new data is complete at {self.url(new_key)}") \
                from err
        self.delete(new_key)

    def _remove_uncommitted(self, staging_dir: str) -> None:
        key = lease_key(self.fs, staging_dir)
        if key is None:
            return
        final = self._path(key)
        if not self._committed(final):  # else committed, only not registered: keep it
            self._remove_quietly(final)

    def _committed(self, final: str) -> bool:
        """A single object is never partial; a Zarr is committed once its metadata is in."""
        self.fs.invalidate_cache(final)
        return self.fs.isfile(final) or any(self.fs.exists(join_key(final, name))
                                            for name in METADATA_NAMES)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (needs rights to create buckets)."""
        with self._errors(f"creating bucket {self.root}"):
            if not self.fs.exists(self.root):
                # Without a location constraint: RGW names its zonegroups, not AWS regions.
                self.fs.call_s3("create_bucket", Bucket=self.root)
                self.fs.invalidate_cache()


@cache
def _session() -> AioSession:
    """One botocore session for all our clients: it caches the service models, which
    otherwise cost every new client about half a second to load."""
    return AioSession()


def open_s3(endpoint_url: str, credentials: S3Credentials, bucket: str,
            region: str = "us-east-1") -> S3Storage:
    """Storage in ``bucket`` at ``endpoint_url`` with ``credentials``.

    >>> open_s3("http://127.0.0.1:7480", S3Credentials("AK", "sk"), "lab").url("world/x")
    's3://lab/world/x'
    """
    options = storage_options(endpoint_url, credentials, region)
    # A fresh instance: fsspec's instance cache would share listings across credentials.
    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True, session=_session())
    return S3Storage(fs, bucket, "s3", options, endpoint=endpoint_url)


def s3_storage(settings: Settings | None = None,
               credentials: S3Credentials | None = None) -> S3Storage:
    """Storage in the settings' bucket, with ``credentials`` or those from the settings."""
    settings = settings or get_settings()
    if not settings.s3.endpoint_url:
        raise StorageError("S3 storage needs an endpoint: set WISEHUB_S3__ENDPOINT_URL")
    return open_s3(settings.s3.endpoint_url, credentials or resolve_credentials(settings.s3),
                   settings.s3.bucket, settings.s3.region)


def storage_at(url: str, options: dict[str, Any] | None = None) -> tuple[Storage, str]:
    """The storage holding ``url``, rooted at its parent, and the key of ``url`` in it.

    So that any target (a local path or an ``s3://`` URL) gets the same staged, atomic write.

    >>> store, key = storage_at("/tmp/wh-doc/raw.zarr")
    >>> store.url(key)
    '/tmp/wh-doc/raw.zarr'
    """
    fs, path = fsspec.core.url_to_fs(url, **(options or {}))
    parent, _, key = path.rstrip("/").rpartition("/")
    if isinstance(fs, s3fs.S3FileSystem):
        endpoint = (options or {}).get("client_kwargs", {}).get("endpoint_url")
        return S3Storage(fs, parent or key, "s3", dict(options or {}), endpoint=endpoint), key
    if fs.protocol in ("file", ("file", "local")) or "file" in fs.protocol:
        return Storage.local(parent or "/"), key
    raise StorageError(f"{url}: only local paths and s3:// URLs can be written atomically")
