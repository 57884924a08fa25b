"""The hub's state directory: private to the hub's OS user, and checked before every start.

The directory holds the hub database (NativeAuthenticator's password hashes and e-mails), the
cookie secret, the admin token, the settings with their secrets, the log and the share-sync
state. It must be mode ``0700`` and belong to the user the hub runs as, and every file in it
``0600``; :func:`check_state_dir` refuses anything else. The hub's own process creates its
files under umask ``077`` (see :data:`HUB_UMASK`), and :func:`write_private` makes files
that are never readable by others, not even for a moment.

>>> import tempfile
>>> state = prepare_state_dir(Path(tempfile.mkdtemp()) / "hub")
>>> write_private(state / "token", "s3cret")
>>> oct(state.stat().st_mode & 0o777), oct((state / "token").stat().st_mode & 0o777)
('0o700', '0o600')
>>> check_state_dir(state)
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from wisehub.config import SettingsError

HUB_UMASK = 0o077
"""The umask of the hub process and its services: what they create only they can read."""
SERVER_UMASK = 0o022
"""The umask user servers get back (their files follow the usual sharing rules)."""


class StateDirError(SettingsError):
    """The hub's state directory or a file in it is readable by others, or owned by another user."""


def prepare_state_dir(path: Path) -> Path:
    """Create ``path`` (mode ``0700``) if needed; then check it as :func:`check_state_dir` does."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_state_dir(path)
    return path


def check_state_dir(path: Path) -> None:
    """Refuse a state directory that is not ``0700`` and ours, or holds a file not ``0600``.

    Sub-directories (the compute service keeps its clusters' state in one) are held to the
    same rules, all the way down. Symbolic links and other special entries are refused: the
    hub writes through them.
    """
    uid = os.geteuid()
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        problems = [f"{path} is not a directory"]
    else:
        problems = _problems(path, info, uid, want=0o700) + _tree_problems(path, uid)
    if problems:
        raise StateDirError(
            f"the hub's state directory {path} is not private, so the hub will not start: "
            + "; ".join(problems)
            + f". Fix with `chown -R {uid} {path} && chmod -R go-rwx {path}` (directories "
            "0700, files 0600; remove anything that is neither), or use a new data directory")


def _tree_problems(directory: Path, uid: int) -> list[str]:
    problems = []
    for entry in sorted(directory.iterdir()):
        entry_info = entry.lstat()
        if stat.S_ISREG(entry_info.st_mode):
            problems += _problems(entry, entry_info, uid, want=0o600)
        elif stat.S_ISDIR(entry_info.st_mode):
            problems += _problems(entry, entry_info, uid, want=0o700)
            problems += _tree_problems(entry, uid)
        else:
            problems.append(f"{entry} is neither a regular file nor a directory")
    return problems


def _problems(path: Path, info: os.stat_result, uid: int, want: int) -> list[str]:
    found = []
    if info.st_uid != uid:
        found.append(f"{path} belongs to uid {info.st_uid}, not {uid} (the hub's user)")
    mode = stat.S_IMODE(info.st_mode)
    if mode != want:
        found.append(f"{path} has mode {mode:04o}, not {want:04o}")
    return found


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable only by its owner from the first byte on.

    The text goes to a new ``0600`` file that then replaces ``path``, so a reader never sees
    a partial file and an existing link at ``path`` is replaced, not followed.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def open_private_log(path: Path) -> int:
    """Open ``path`` for appending (created ``0600``); returns the file descriptor."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
