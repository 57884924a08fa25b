"""Bucket policies that make the store itself enforce the layout.

Each platform user has their own RGW user. The platform bucket's policy lets a user read and
write ``private/<user>/``, the ``groups/<group>/`` and ``projects/<project>/`` prefixes they
belong to, and read ``world/``. Writing to ``world/`` is promotion and stays with the platform
(the bucket owner). Anything not allowed is denied by S3's default.

>>> policy = bucket_policy("wisehub", "platform", {"ada": Membership(groups=["lab"])})
>>> [s["Sid"] for s in policy["Statement"]]
['platform', 'private-ada', 'list-ada', 'group-lab', 'bulk-delete', 'missing-keys', 'world-read']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wisehub import names
from wisehub.storage.layout import layout_prefix

READ_WRITE = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
              "s3:ListMultipartUploadParts"]


@dataclass(frozen=True)
class Membership:
    """The groups and projects a platform user belongs to."""

    groups: Iterable[str] = field(default_factory=tuple)
    projects: Iterable[str] = field(default_factory=tuple)


def _principal(users: Iterable[str]) -> dict[str, list[str]]:
    return {"AWS": [f"arn:aws:iam:::user/{user}" for user in sorted(users)]}


def _check_names(user: str, membership: Membership) -> None:
    # Names become ARNs and key prefixes: one with `*` or `/` would widen a statement.
    names.check(user)
    for group in membership.groups:
        names.check(group, kind="group")
    for project in membership.projects:
        names.check(project, kind="project")


def _objects(bucket: str, prefix: str) -> str:
    return f"arn:aws:s3:::{bucket}/{prefix}/*"


def bucket_policy(bucket: str, owner: str, members: Mapping[str, Membership]) -> dict[str, Any]:
    """The S3 bucket policy for ``bucket`` given every user's groups and projects.

    ``owner`` is the platform's RGW user (the bucket owner): it keeps full access, including
    to objects that users wrote (S3 makes the writer an object's owner). ``members`` maps an
    RGW user id (the platform user name) to their :class:`Membership`.

    >>> p = bucket_policy("wisehub", "platform", {"ada": Membership()})
    >>> p["Statement"][1]["Resource"]
    ['arn:aws:s3:::wisehub/private/ada/*']
    """
    statements: list[dict[str, Any]] = [
        {"Sid": "platform", "Effect": "Allow", "Principal": _principal([owner]),
         "Action": ["s3:*"], "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}
    ]
    shared: dict[str, set[str]] = {}
    for user, membership in sorted(members.items()):
        _check_names(user, membership)
        own = layout_prefix("private", user=user)
        statements.append({"Sid": f"private-{user}", "Effect": "Allow",
                           "Principal": _principal([user]), "Action": READ_WRITE,
                           "Resource": [_objects(bucket, own)]})
        prefixes = [own]
        for group in membership.groups:
            prefixes.append(layout_prefix("group", user=user, group=group))
        for project in membership.projects:
            prefixes.append(layout_prefix("project", user=user, project=project))
        for prefix in prefixes[1:]:
            shared.setdefault(prefix, set()).add(user)
        statements.append({
            "Sid": f"list-{user}", "Effect": "Allow", "Principal": _principal([user]),
            "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{bucket}"],
            "Condition": {"StringLike": {"s3:prefix": [
                pattern for prefix in [*prefixes, "world"]
                for pattern in (f"{prefix}/*", prefix)]}},
        })
    for prefix, users in sorted(shared.items()):
        kind, name = prefix.split("/", 1)
        statements.append({"Sid": f"{kind.rstrip('s')}-{name}", "Effect": "Allow",
                           "Principal": _principal(users), "Action": READ_WRITE,
                           "Resource": [_objects(bucket, prefix)]})
    if members:
        # RGW checks a multi-object delete (what fsspec's rm does) against the bucket first,
        # then each key against the statements above; this allows only the first check.
        statements.append({"Sid": "bulk-delete", "Effect": "Allow",
                           "Principal": _principal(members), "Action": ["s3:DeleteObject"],
                           "Resource": [f"arn:aws:s3:::{bucket}"]})
        # S3 answers a GET or HEAD of a missing key with 404 only to whoever may list the
        # bucket, else 403, and zarr reads 403 as an error, not as "absent". RGW evaluates
        # that check as ListBucket without the ``s3:max-keys`` key that real listings carry,
        # so this allows the 404 without letting anyone list outside their prefixes.
        statements.append({"Sid": "missing-keys", "Effect": "Allow",
                           "Principal": _principal(members), "Action": ["s3:ListBucket"],
                           "Resource": [f"arn:aws:s3:::{bucket}"],
                           "Condition": {"Null": {"s3:max-keys": "true"}}})
        statements.append({"Sid": "world-read", "Effect": "Allow",
                           "Principal": _principal(members), "Action": ["s3:GetObject"],
                           "Resource": [_objects(bucket, layout_prefix("world", user=""))]})
    return {"Version": "2012-10-17", "Statement": statements}


def policy_json(policy: dict[str, Any]) -> str:
    """The policy as the compact JSON that ``PutBucketPolicy`` takes."""
    return json.dumps(policy, separators=(",", ":"))
