"""Who is asking: the user, their groups and projects, and the privilege their writes take.

Privileges follow Astro-WISE's ladder: ``private`` (1) < ``group`` (2) < ``project`` (3) <
``world`` (4). A product is readable by its owner; by members of its group once it is
group-privileged or higher; by members of its project once project-privileged or higher; by
everyone once world-privileged.

>>> ctx = Context("ada", groups=("lab",), privilege="group", group="lab")
>>> ctx.can_read(owner="bob", privilege=PRIVILEGES["group"], group_name="lab", project=None)
True
>>> ctx.can_read(owner="bob", privilege=PRIVILEGES["private"], group_name="lab", project=None)
False
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, false, or_

from wisehub.lineage.models import Product

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from wisehub.config import Settings

PRIVILEGES: dict[str, int] = {"private": 1, "group": 2, "project": 3, "world": 4}
PRIVILEGE_NAMES: dict[int, str] = {v: k for k, v in PRIVILEGES.items()}


class PrivilegeError(PermissionError):
    """The context may not do this; the message says what is missing."""


def privilege_level(privilege: str | int) -> int:
    """The numeric level of a privilege name or number, with a clear error for bad ones.

    >>> privilege_level("project")
    3
    """
    if isinstance(privilege, int) and privilege in PRIVILEGE_NAMES:
        return privilege
    if isinstance(privilege, str) and privilege in PRIVILEGES:
        return PRIVILEGES[privilege]
    raise ValueError(f"unknown privilege {privilege!r}: expected one of {', '.join(PRIVILEGES)}")


@dataclass(frozen=True)
class Context:
    """A user's view of the store: every read is scoped to it, every write takes its privilege.

    ``group``/``project`` name where this context's group- or project-privileged writes go;
    they default to the first of ``groups``/``projects``.
    """

    user: str
    groups: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    privilege: str = "private"
    group: str | None = None
    project: str | None = None
    _level: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.user:
            raise ValueError("a lineage context needs a user name")
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "projects", tuple(self.projects))
        object.__setattr__(self, "_level", privilege_level(self.privilege))
        if self.group is None and self.groups:
            object.__setattr__(self, "group", self.groups[0])
        if self.project is None and self.projects:
            object.__setattr__(self, "project", self.projects[0])
        if self.group is not None and self.group not in self.groups:
            raise PrivilegeError(f"user {self.user!r} is not in group {self.group!r}")
        if self.project is not None and self.project not in self.projects:
            raise PrivilegeError(f"user {self.user!r} is not in project {self.project!r}")
        if self._level == PRIVILEGES["group"] and self.group is None:
            raise PrivilegeError(f"user {self.user!r} writes with group privilege but has no group")
        if self._level == PRIVILEGES["project"] and self.project is None:
            raise PrivilegeError(
                f"user {self.user!r} writes with project privilege but has no project"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        """The context of the platform's user (``WISEHUB_USER``, ``_GROUPS``, ``_PROJECT``)."""
        projects = (settings.project,) if settings.project else ()
        return cls(settings.user, tuple(settings.groups), projects,
                   privilege=settings.lineage_privilege)

    @property
    def level(self) -> int:
        """The numeric privilege this context's writes take."""
        return self._level

    def write_scope(self) -> dict[str, Any]:
        """The ownership columns a new product gets."""
        return {"owner": self.user, "privilege": self._level,
                "group_name": self.group, "project": self.project}

    def readable(self, model: Any = Product) -> ColumnElement[bool]:
        """The SQL condition selecting the rows of ``model`` (products, or any table with
        the same owner/privilege/group_name/project columns) this context may read."""
        clauses = [model.owner == self.user, model.privilege >= PRIVILEGES["world"]]
        if self.groups:
            clauses.append(and_(model.privilege >= PRIVILEGES["group"],
                                model.group_name.in_(self.groups)))
        if self.projects:
            clauses.append(and_(model.privilege >= PRIVILEGES["project"],
                                model.project.in_(self.projects)))
        return or_(*clauses) if clauses else false()

    def can_read(self, *, owner: str, privilege: int, group_name: str | None,
                 project: str | None) -> bool:
        """The same rule as :meth:`readable`, for one row already in memory."""
        return (owner == self.user or privilege >= PRIVILEGES["world"]
                or (privilege >= PRIVILEGES["group"] and group_name in self.groups)
                or (privilege >= PRIVILEGES["project"] and project in self.projects))
