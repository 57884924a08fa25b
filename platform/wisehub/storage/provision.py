"""Give every platform user their own RGW user and keys, and make the bucket enforce the layout.

Run by the platform (the bucket owner, whose RGW user has ``users=*`` caps) whenever users,
groups or projects change; it is idempotent.

Against a running RGW (tests/storage/test_isolation.py does this)::

    keys = provision(admin, storage, {"ada": Membership(groups=["lab"])})
    keys["ada"]  # S3Credentials(access_key='…', secret_key='***')
"""

from __future__ import annotations

from collections.abc import Mapping

from wisehub.storage.credentials import S3Credentials
from wisehub.storage.policy import Membership, bucket_policy, policy_json
from wisehub.storage.rgw_admin import RGWAdmin
from wisehub.storage.s3 import S3Storage


def apply_policy(storage: S3Storage, owner: str, members: Mapping[str, Membership]) -> None:
    """Set ``storage``'s bucket policy for ``members``; ``owner`` is the bucket's RGW user."""
    policy = policy_json(bucket_policy(storage.root, owner, members))
    with storage._errors(f"setting the bucket policy of {storage.root}"):
        storage.fs.call_s3("put_bucket_policy", Bucket=storage.root, Policy=policy)


def provision(admin: RGWAdmin, storage: S3Storage,
              members: Mapping[str, Membership]) -> dict[str, S3Credentials]:
    """Ensure an RGW user per member and the bucket policy; return each member's keys.

    ``storage`` must use the bucket owner's credentials (the platform's).
    """
    owner = storage.fs.call_s3("list_buckets")["Owner"]["ID"]
    keys = {user: admin.ensure_user(user) for user in members}
    apply_policy(storage, owner, members)
    return keys
