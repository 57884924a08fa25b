"""The compute service as the hub configuration registers it (no hub runs here)."""

from __future__ import annotations

import json

from traitlets.config import Config
from wisehub.compute.settings import CONFIG_ENV, STATE_ENV, URL_ENV, ComputeSettings
from wisehub.config import Settings
from wisehub.hub.configuration import configure


def configured(tmp_path, **hub) -> Config:
    c = Config()
    configure(c, Settings(data_dir=tmp_path, hub={"demo_password": "demo-1234", **hub},
                          compute={"limits": {"clusters": 3}}))
    return c


def test_service_roles_and_user_environment(tmp_path):
    c = configured(tmp_path)
    [service] = [s for s in c.JupyterHub.services if s["name"] == "compute"]
    assert service["command"][1:] == ["-m", "wisehub.compute.service"]
    settings = ComputeSettings.model_validate_json(service["environment"][CONFIG_ENV])
    assert settings.limits.clusters == 3 and not settings.run_as_owner
    assert service["environment"][STATE_ENV] == str(tmp_path / "hub" / "compute")
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["compute"]["services"] == ["compute"]
    assert set(roles["compute"]["scopes"]) == {"list:users", "read:users", "read:servers"}
    assert "access:services!service=compute" in roles["user"]["scopes"]
    assert "access:services!service=compute" in c.Spawner.server_token_scopes
    assert c.Spawner.environment[URL_ENV] == f"{service['url']}/services/compute/"


def test_system_users_mode_runs_clusters_as_their_owners(tmp_path):
    c = configured(tmp_path, spawner="system-users", authenticator="native")
    [service] = [s for s in c.JupyterHub.services if s["name"] == "compute"]
    settings = ComputeSettings.model_validate_json(service["environment"][CONFIG_ENV])
    assert settings.run_as_owner
    assert settings.runtime_dir == tmp_path / "compute-clusters"
    assert json.loads(service["environment"][CONFIG_ENV])["limits"]["clusters"] == 3
