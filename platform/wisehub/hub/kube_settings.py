"""Cluster-mode settings (``hub.kubernetes``): names and mount paths of what KubeSpawner makes.

Every name the hub gives a Kubernetes object, and every path it mounts, is a setting here, so
an operator can match an existing cluster (the Helm chart fills them from its values).

>>> k = KubeSettings()
>>> k.workspace_claim("lab"), k.workspace_mount("lab")
('wisehub-group-lab', '/home/jovyan/shared/lab')
>>> KubeSettings(workspace_layout="subPath").workspace_claim("lab")
'wisehub-groups'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DNS_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
"""A Kubernetes object name (DNS-1123 subdomain)."""


def object_name(default: str | None, description: str) -> Any:
    """A setting naming a Kubernetes object: refused at hub start unless a valid name.

    >>> from pydantic import create_model
    >>> M = create_model("M", claim=(str, object_name("groups", "a claim")))
    >>> M(claim="Not A Name")
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for M...
    """
    return Field(default, pattern=DNS_NAME, description=description)


def name_template(default: str, placeholder: str, description: str) -> Any:
    """A setting naming one object per user or group: ``{placeholder}`` must be in it, and
    the rest must be valid in a Kubernetes name (the value filled in is a safe slug).

    >>> from pydantic import create_model
    >>> M = create_model("M", secret=(str, name_template("u-{username}", "username", "a")))
    >>> M(secret="u-{group}")
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for M...
    """
    return Field(default, pattern=rf"^[-a-z0-9.]*\{{{placeholder}\}}[-a-z0-9.]*$",
                 description=description)


class KubeSettings(BaseModel):
    """Names, labels and mount paths for user pods in cluster mode.

    Environment variables use the ``WISEHUB_HUB__KUBERNETES__`` prefix.
    """

    model_config = ConfigDict(extra="forbid")

    home_mount_path: str = Field("/home/jovyan", pattern="^/", description="the user's home")
    workspace_mount_template: str = Field(
        "/home/jovyan/shared/{group}", pattern=r"^/.*\{group\}",
        description="where a group's workspace is mounted in its members' pods")
    workspace_layout: Literal["perGroup", "subPath"] = Field(
        "perGroup", description="perGroup: a claim per group; subPath: one claim, a subPath "
        "per group (the chart's storage.workspaces.layout)")
    # Objects made per user or per group
    user_secret_template: str = name_template(
        "wisehub-user-{username}", "username", "the per-user Secret with the user's own "
        "store credentials; only that user's pod reads it")
    home_claim_template: str = name_template(
        "claim-{username}", "username", "the claim of a user's home (KubeSpawner makes it)")
    workspace_claim_template: str = name_template(
        "wisehub-group-{group}", "group", "the claim of a group's workspace (perGroup)")
    # Objects the chart makes once
    workspaces_claim: str = object_name(
        "wisehub-groups", "the one claim holding every workspace (subPath)")
    home_storage_class: str = object_name(
        "wisehub-home", "StorageClass of homes (the chart's storage.home)")
    catalog_configmap: str | None = object_name(
        "wisehub-catalogs", "ConfigMap with the catalogues, mounted read-only in user pods at "
        "the catalogue's directory (None: the image's own)")
    owner_label: str = Field(
        "wisehub.org/owner", description="label naming the user who owns a pod (user servers "
        "and their Dask pods); NetworkPolicies select by it")
    home_size: str = Field("10Gi", pattern=r"^[0-9]+[KMGTPE]i$", description="size of a home")
    uid: int = Field(1000, ge=1, description="user pods run as this uid (never root)")
    fs_gid: int = Field(100, ge=1, description="group owning mounted volumes in user pods")

    def workspace_claim(self, group: str) -> str:
        """The claim that holds ``group``'s workspace."""
        if self.workspace_layout == "subPath":
            return self.workspaces_claim
        return self.workspace_claim_template.format(group=group)

    def workspace_mount(self, group: str) -> str:
        """Where ``group``'s workspace appears in a member's pod."""
        return self.workspace_mount_template.format(group=group)
