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

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    workspace_claim_template: str = Field(
        "wisehub-group-{group}", description="the claim of a group's workspace (perGroup)")
    workspaces_claim: str = Field(
        "wisehub-groups", description="the one claim holding every workspace (subPath)")
    user_secret_template: str = Field(
        "wisehub-user-{username}", description="the per-user Secret with the user's own "
        "store credentials; only that user's pod reads it")
    owner_label: str = Field(
        "wisehub.org/owner", description="label naming the user who owns a pod (user servers "
        "and their Dask pods); NetworkPolicies select by it")
    home_claim_template: str = Field(
        "claim-{username}", description="the claim of a user's home (KubeSpawner makes it)")
    home_storage_class: str = Field(
        "wisehub-home", description="StorageClass of homes (the chart's storage.home)")
    home_size: str = Field("10Gi", pattern=r"^[0-9]+[KMGTPE]i$", description="size of a home")
    catalog_configmap: str | None = Field(
        "wisehub-catalogs", description="ConfigMap with the catalogues, mounted read-only in "
        "user pods at the catalogue's directory (None: the image's own)")
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
