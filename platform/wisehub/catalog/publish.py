"""Publish a dataset: write it through storage, then add an entry to an Intake 2 catalogue.

The entry is built with Intake 2's own API (a ``Zarr`` datatype read by an
``XArrayDatasetReader``, added to an ``intake.readers.entry.Catalog``) and the catalogue is
saved as ``Catalog.to_yaml_file`` saves it (the same YAML, written by libyaml), so the file
is what intake itself writes. The file is parsed once to update it and once, as written, to
check it: with pure-Python YAML those parses cost most of a publish once a catalogue holds a
hundred entries.

The entry appears only after the data is complete (a staged, checksummed write), and if the
catalogue cannot be updated the data is removed again, so a failure registers nothing. S3
entries take the endpoint and credentials from ``{env(...)}`` templates, never literally,
so the catalogue holds no secret and plain intake reads it the same way wisehub does.

>>> import intake, numpy as np, tempfile, xarray as xr
>>> from wisehub.config import Settings
>>> where = tempfile.mkdtemp()
>>> ds = xr.Dataset({"flux": ("x", np.arange(3.0))})
>>> stored = publish(ds, "demo", where + "/products.yaml", privilege="world",
...                  settings=Settings(data_dir=where, user="ada"))
>>> float(intake.from_yaml_file(where + "/products.yaml")["demo"].read()["flux"].sum())
3.0
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

import xarray as xr
import yaml
from intake.readers.datatypes import Zarr
from intake.readers.entry import Catalog
from intake.readers.readers import XArrayDatasetReader

from wisehub.config import Settings, get_settings, yaml_problem
from wisehub.lineage.identity import platform_context
from wisehub.storage import Storage, StoredObject, get_storage, layout_prefix
from wisehub.storage.layout import Privilege
from wisehub.storage.zarrio import product_key, read_chunks, stored_layout, write_staged

# libyaml's parser and emitter (PyYAML's wheels include it), the same YAML several times faster
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

# What catalogue entries on S3 template: the names `wisehub dev ceph env` and the hub export.
# ``max_concurrency: 1`` as in wisehub.storage.s3.storage_options: no HEAD before each chunk.
S3_ENTRY_OPTIONS = {
    "key": "{env(AWS_ACCESS_KEY_ID)}",
    "secret": "{env(AWS_SECRET_ACCESS_KEY)}",
    "max_concurrency": 1,
    "client_kwargs": {"endpoint_url": "{env(S3_ENDPOINT_URL)}"},
}
# Set by intake when it loads a file, about that file: never saved into it.
_LOAD_PARAMETERS = ("CATALOG_DIR", "CATALOG_PATH", "STORAGE_OPTIONS")


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

    Examples
    --------
    >>> import numpy as np, xarray as xr, wisehub as wh
    >>> data = xr.Dataset({"flux": ("x", np.arange(3.0))})
    >>> stored = publish(data, "toy.flux", "mine.yaml", metadata={"title": "A toy"})
    >>> entry = wh.catalog("mine.yaml")["toy.flux"]
    >>> entry.metadata["title"], entry.read()["flux"].values.tolist()
    ('A toy', [0.0, 1.0, 2.0])
    """
    settings = settings or get_settings()
    storage = storage or get_storage(settings)
    if not NAME.match(name):
        raise PublishError(f"invalid entry name {name!r}: use letters, digits, '.', '_' or '-'")
    path = Path(catalog)
    identity = platform_context(settings)  # the hub's word inside a server, not env vars
    prefix = layout_prefix(privilege, user=identity.user,
                           group=_member_group(privilege, group, identity.groups),
                           project=settings.project)
    with _locked(path):
        document = _read(path)
        if name in document.entries or name in document.aliases:
            raise PublishError(f"{path} already has an entry {name!r}; published entries are "
                               "never replaced, choose another name")
        stored = write_staged(storage, product_key(prefix, name), data,
                              purpose=settings.layouts.publish)
        entry_md = {"title": name, "creator": identity.user, **(metadata or {}),
                    "uri": stored.uri, "checksum": stored.checksum, "size": stored.size,
                    "privilege": privilege, "owner": identity.user,
                    "published": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            document[name] = entry(stored.uri, storage, entry_md)
            _write(path, document, name)
        except BaseException:
            storage.delete(stored.uri)
            raise
    return stored


def entry(uri: str, storage: Storage, metadata: dict[str, Any]) -> XArrayDatasetReader:
    """The Intake 2 reader of a stored Zarr product: lazy, with the read grouping of
    :func:`wisehub.storage.zarrio.open_zarr`; S3 options as ``{env(...)}`` templates.

    >>> import numpy as np, tempfile, xarray as xr
    >>> storage = Storage.local(tempfile.mkdtemp())
    >>> stored = write_staged(storage, "world/a.zarr", xr.DataArray(np.zeros(3), dims="x"))
    >>> entry(stored.uri, storage, {"title": "a"}).read()["data"].shape
    (3,)
    """
    options = copy.deepcopy(S3_ENTRY_OPTIONS) if storage.protocol == "s3" else None
    layout = stored_layout(uri, storage.storage_options)
    data = Zarr(url=uri, storage_options=options)
    return XArrayDatasetReader(data, engine="zarr", chunks=read_chunks(layout),
                               metadata=metadata)


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


def _read(path: Path) -> Catalog:
    if not path.exists():
        return Catalog(metadata={"title": f"published datasets ({path.stem})"})
    try:
        document = yaml.load(path.read_text(), Loader=_LOADER) or {}
    except yaml.YAMLError as err:
        raise PublishError(f"catalogue {path} is not valid YAML ({yaml_problem(err)}); fix or "
                           "move it") from None
    if not isinstance(document, dict) or document.get("version") != 2:
        raise PublishError(f"catalogue {path} is not an Intake 2 catalogue (needs 'version: 2')")
    catalog = Catalog.from_dict(document)
    for name in _LOAD_PARAMETERS:
        catalog.user_parameters.pop(name, None)
    return catalog


def _write(path: Path, document: Catalog, name: str) -> None:
    """Write the catalogue atomically, after checking that intake can open the new entry
    from the file as written (with the parameters ``intake.from_yaml_file`` gives it)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(yaml.dump(document.to_dict(), Dumper=_DUMPER))
        written = Catalog.from_dict(yaml.load(tmp.read_text(), Loader=_LOADER))
        written.user_parameters.update(CATALOG_PATH=str(tmp), CATALOG_DIR=str(tmp.parent),
                                       STORAGE_OPTIONS={})
        written[name]  # builds the reader, reads nothing
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
