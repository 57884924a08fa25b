"""Work inside one user's home before their server starts: workspace links and tutorials.

In system-user mode this runs **as the home's owner**, never as root: the pre-spawn hook
starts it as ``python -I …/homeprep.py JSON`` with the user's uid and gid (see
:mod:`wisehub.hub.provision`). A link the user planted (``~/tutorials -> /etc``) then gets
only what the user could do anyway. Links are refused all the same: ``shared``,
``.wisehub`` and each copied folder must be real directories, or that step is skipped with a
warning, and nothing is written through them. It imports only the standard library, so it
starts fast and runs in any account.

>>> import tempfile
>>> home, notebooks = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp()) / "tutorials"
>>> notebooks.mkdir(); _ = (notebooks / "01-start.ipynb").write_text("{}")
>>> (home / "tutorials").symlink_to("/etc")
>>> done = prepare(home, {}, [notebooks])
>>> done.first, done.warnings
(None, ['~/tutorials is a link or not a directory; not copying tutorials into it'])
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

MARKER = Path(".wisehub") / "provisioned"
"""Written into a home once its tutorials have been copied; delete it to get fresh copies."""


@dataclass
class Prepared:
    """What :func:`prepare` did: the first tutorial to open (relative to the home), warnings."""

    first: str | None = None
    warnings: list[str] = field(default_factory=list)


def _is_real_dir(path: Path) -> bool:
    return not path.is_symlink() and path.is_dir()


def _real_dir(path: Path, what: str, warnings: list[str]) -> bool:
    """Make ``path`` a directory unless something is there; False (with a warning) if that
    something is a link or not a directory."""
    if not os.path.lexists(path):
        path.mkdir()
    if _is_real_dir(path):
        return True
    warnings.append(f"~/{path.name} is a link or not a directory; not {what}")
    return False


def link_workspaces(home: Path, links: dict[str, Path], warnings: list[str]) -> None:
    """Link each group's workspace as ``home/shared/<group>``; drop links to groups left."""
    shared = home / "shared"
    if not _real_dir(shared, "linking group workspaces into it", warnings):
        return
    for group, target in links.items():
        link = shared / group
        if not os.path.lexists(link):
            link.symlink_to(target, target_is_directory=True)
    for entry in os.scandir(shared):
        if entry.is_symlink() and entry.name not in links:
            os.unlink(entry.path)


def copy_tutorials(home: Path, sources: list[Path], warnings: list[str]) -> str | None:
    """Copy notebook folders into a home seen for the first time; the first notebook or None."""
    state = home / MARKER.parent
    if not _real_dir(state, "copying tutorials (cannot record them)", warnings):
        return None
    marker = home / MARKER
    if os.path.lexists(marker):
        return None
    first = None
    for source in sources:
        if not source.is_dir():
            continue
        dest = home / source.name
        if not _real_dir(dest, f"copying {source.name} into it", warnings):
            continue
        shutil.copytree(source, dest, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        notebooks = sorted(dest.rglob("*.ipynb"))
        if first is None and notebooks:
            first = notebooks[0].relative_to(home).as_posix()
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as out:
        out.write("tutorials copied; delete this file to copy them again\n")
    return first


def prepare(home: Path, links: dict[str, Path], sources: list[Path]) -> Prepared:
    """Link workspaces and copy tutorials into ``home``; never writes through a link."""
    done = Prepared()
    link_workspaces(home, links, done.warnings)
    done.first = copy_tutorials(home, sources, done.warnings)
    return done


def main(argv: list[str]) -> None:
    """``homeprep.py '{"home": …, "links": {group: dir}, "sources": [dir, …]}'``: print JSON."""
    job = json.loads(argv[0])
    done = prepare(Path(job["home"]), {g: Path(t) for g, t in job["links"].items()},
                   [Path(s) for s in job["sources"]])
    print(json.dumps(asdict(done)))


if __name__ == "__main__":
    main(sys.argv[1:])
