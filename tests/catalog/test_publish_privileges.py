"""publish() to a group: the group is named and the publisher's; other members can lock too."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from wisehub.catalog.publish import PublishError, publish
from wisehub.config import Settings


def _image() -> xr.Dataset:
    return xr.Dataset({"data": (("y", "x"), np.ones((4, 4), dtype=np.float32))})


def test_group_publishing_names_a_group_the_user_is_in(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", user="ada", groups=["astro101", "lab"])
    catalog = tmp_path / "products.yaml"
    with pytest.raises(PublishError, match="name the group"):
        publish(_image(), "a", catalog, privilege="group", settings=settings)
    with pytest.raises(PublishError, match="not in group 'other'"):
        publish(_image(), "a", catalog, privilege="group", group="other", settings=settings)
    assert not (settings.data_dir / "products" / "groups").exists()
    stored = publish(_image(), "a", catalog, privilege="group", group="lab", settings=settings)
    assert "/groups/lab/" in stored.uri


@pytest.mark.skipif(os.geteuid() != 0, reason="creates a second OS user (CI runs as root)")
def test_a_second_group_member_can_take_the_lock(tmp_path: Path) -> None:
    group, member = f"whg{uuid.uuid4().hex[:6]}", f"whu{uuid.uuid4().hex[:6]}"
    subprocess.run(["groupadd", group], check=True)
    subprocess.run(["useradd", "-M", "-G", group, member], check=True)
    top = Path(tempfile.mkdtemp(prefix="wisehub-groups-"))  # pytest's tmp is root-only
    try:
        top.chmod(0o755)
        shared = top / "lab"
        shared.mkdir()
        os.chown(shared, 0, int(subprocess.check_output(["getent", "group", group])
                                .split(b":")[2]))
        shared.chmod(0o2775)  # a group workspace: setgid, group-writable
        old = os.umask(0o022)
        try:
            publish(_image(), "a", shared / "catalog.yaml",
                    settings=Settings(data_dir=tmp_path / "data", user="root"))
        finally:
            os.umask(old)
        lock = shared / ".catalog.yaml.lock"
        assert stat.S_IMODE(lock.stat().st_mode) & stat.S_IWGRP
        done = subprocess.run(["runuser", "-u", member, "--", "python3", "-c",
                               f"import fcntl; f = open({str(lock)!r}, 'w'); "
                               "fcntl.flock(f, fcntl.LOCK_EX); print('locked')"],
                              capture_output=True, text=True, check=False)
        assert done.stdout.strip() == "locked", done.stderr
    finally:
        subprocess.run(["userdel", member], check=False)
        subprocess.run(["groupdel", group], check=False)
        shutil.rmtree(top, ignore_errors=True)
