"""Publish a dataset: write it through storage, then add an entry to an Intake 2 catalogue.

The entry appears only after the data is complete (a staged, checksummed write), and if the
catalogue cannot be updated the data is removed again, so a failure registers nothing. S3
entries take the endpoint and credentials from ``{env(...)}`` templates, never literally,
so the catalogue holds no secret and plain intake reads it the same way wisehub does.

>>> import numpy as np, xarray as xr
>>> from wisehub.config import Settings
>>> ds = xr.Dataset({"flux": ("x", np.arange(3.0))})
>>> stored = publish(ds, "demo", "/tmp/wh-doc/products.yaml", privilege="world",
...                  settings=Settings(data_dir="/tmp/wh-doc"))   # doctest: +SKIP
>>> import intake
>>> intake.from_yaml_file("/tmp/wh-doc/products.yaml")["demo"].read()  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import fcntl
import os
import re
import stat
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import intake
import xarray as xr
import yaml

from wisehub.config import Settings, get_settings
from wisehub.lineage.identity import platform_context
from wisehub.storage import Storage, StoredObject, get_storage, layout_prefix
from wisehub.storage.layout import Privilege
from wisehub.storage.zarrio import read_chunks

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

# What catalogue entries on S3 template: the names `wisehub dev ceph env` and the hub export.
# ``max_concurrency: 1`` as in wisehub.storage.s3.storage_options: no HEAD before each chunk.
S3_ENTRY_OPTIONS = {
    "key": "{env(AWS_ACCESS_KEY_ID)}",
    "secret": "{env(AWS_SECRET_ACCESS_KEY)}",
    "max_concurrency": 1,
    "client_kwargs": {"endpoint_url": "{env(S3_ENDPOINT_URL)}"},
}


class PublishError(ValueError):
    """A dataset cannot be published as asked; the message says why and what to do."""


def publish(data: xr.Dataset | xr.DataArray, name: str, catalog: str | os.PathLike[str], *,
            privilege: Privilege = "private", group: str | None = None,
            metadata: Mapping[str, Any] | None = None, settings: Settings | None = None,
            storage: Storage | None = None) -> StoredObject:
    """Write ``data`` as Zarr under the layout prefix for ``privilege`` and add entry ``name``
    to the catalogue file ``catalog`` (created if missing); return what was stored.

    ``metadata`` (title, description, licence, instrument, units, product_id, …) goes into
    the entry; the entry also records the data's uri, checksum, size and owner.
    """
    settings = settings or get_settings()
    storage = storage or get_storage(settings)
    if not NAME.match(name):
        raise PublishError(f"invalid entry name {name!r}: use letters, digits, '.', '_' or '-'")
    path = Path(catalog)
    ds = _as_dataset(data)
    identity = platform_context(settings)  # the hub's word inside a server, not env vars
    prefix = layout_prefix(privilege, user=identity.user,
                           group=_member_group(privilege, group, identity.groups),
                           project=settings.project)
    key = f"{prefix}/{name}-{uuid.uuid4().hex[:8]}.zarr"
    with _locked(path):
        document = _read(path)
        if {name, _data_name(name)} & (set(document["entries"]) | set(document["data"])):
            raise PublishError(f"{path} already has an entry {name!r}; published entries are "
                               "never replaced, choose another name")
        with storage.staged(key) as write:
            write.to_zarr(ds)
        stored = write.result
        entry_md = {"title": name, "creator": identity.user, **(metadata or {}),
                    "uri": stored.uri, "checksum": stored.checksum, "size": stored.size,
                    "privilege": privilege, "owner": identity.user,
                    "published": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            layout = xr.open_zarr(stored.uri, chunks=None,
                                  storage_options=storage.storage_options or None)
            _add_entry(document, name, stored.uri, storage.protocol == "s3",
                       read_chunks(layout), entry_md)
            _write(path, document, name)
        except BaseException:
            storage.delete(stored.uri)
            raise
    return stored


def _as_dataset(data: xr.Dataset | xr.DataArray) -> xr.Dataset:
    ds = data.to_dataset(name=data.name or "data") if isinstance(data, xr.DataArray) else data
    ds = ds.copy()
    for variable in ds.variables.values():  # chunking read from another store must not bind
        variable.encoding = {k: v for k, v in variable.encoding.items()
                             if k not in ("chunks", "preferred_chunks", "shards")}
    return ds


def _member_group(privilege: str, group: str | None, groups: tuple[str, ...]) -> str | None:
    """The group a group-privileged entry goes to: named (or the only one), and the user's."""
    if privilege != "group":
        return group
    if group is None and len(groups) == 1:
        return groups[0]
    if group is None:
        raise PublishError(f"name the group to publish to (group=...): you are in "
                           f"{', '.join(groups) or 'no group'}")
    if group not in groups:
        raise PublishError(f"you are not in group {group!r}, so cannot publish to it")
    return group


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of one catalogue file between processes.

    The lock file is group-writable where the catalogue's directory is, so every member of
    a group catalogue can take it, not only the first publisher.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(f".{path.name}.lock")
    mode = 0o664 if path.parent.stat().st_mode & stat.S_IWGRP else 0o644
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, mode)
    if os.fstat(fd).st_uid == os.getuid():
        os.fchmod(fd, mode)  # the umask may have taken the group's write bit
    with os.fdopen(fd, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"version": 2, "aliases": {}, "user_parameters": {},
                "metadata": {"title": f"published datasets ({path.stem})"},
                "data": {}, "entries": {}}
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise PublishError(f"catalogue {path} is not valid YAML ({err}); fix or move it") from None
    if document.get("version") != 2:
        raise PublishError(f"catalogue {path} is not an Intake 2 catalogue (needs 'version: 2')")
    document.setdefault("data", {})
    document.setdefault("entries", {})
    return document


def _data_name(name: str) -> str:
    # Distinct from the entry's: intake resolves ``{data(x)}`` through entries first.
    return f"{name}.data"


def _add_entry(document: dict[str, Any], name: str, uri: str, on_s3: bool,
               chunks: dict[str, int], metadata: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {"url": uri}
    if on_s3:
        kwargs["storage_options"] = copy.deepcopy(S3_ENTRY_OPTIONS)  # no YAML anchors
    document["data"][_data_name(name)] = {
        "datatype": "intake.readers.datatypes:Zarr", "metadata": {}, "user_parameters": {},
        "kwargs": kwargs}
    document["entries"][name] = {
        "reader": "intake.readers.readers:XArrayDatasetReader", "user_parameters": {},
        "kwargs": {"args": [f"{{data({_data_name(name)})}}"], "engine": "zarr",
                   "chunks": chunks},
        "output_instance": "xarray:Dataset", "metadata": metadata,
    }


def _write(path: Path, document: dict[str, Any], name: str) -> None:
    """Write the catalogue atomically, after checking that intake can open the new entry."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(yaml.safe_dump(document, sort_keys=False, default_flow_style=False))
        intake.from_yaml_file(str(tmp))[name]  # builds the reader, reads nothing
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
