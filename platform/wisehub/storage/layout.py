"""The storage layout that separates users, groups and the world.

Paths are chosen so that per-user S3 credentials and bucket policies can enforce them later
without changing what a path means.
"""

from __future__ import annotations

from typing import Literal

Privilege = Literal["private", "group", "project", "world"]


def layout_prefix(privilege: Privilege, *, user: str, group: str | None = None,
                  project: str | None = None) -> str:
    """The key prefix where a product of this privilege lives.

    >>> layout_prefix("private", user="ada")
    'private/ada'
    >>> layout_prefix("group", user="ada", group="lab")
    'groups/lab'
    """
    if privilege == "private":
        return f"private/{user}"
    if privilege == "group":
        if not group:
            raise ValueError("a group-privileged product needs a group")
        return f"groups/{group}"
    if privilege == "project":
        if not project:
            raise ValueError("a project-privileged product needs a project")
        return f"projects/{project}"
    if privilege == "world":
        return "world"
    raise ValueError(f"unknown privilege {privilege!r}: expected private, group, project or world")
