"""The compute service as a local hub's configuration registers and hosts it (no hub runs
here)."""

from __future__ import annotations

from traitlets.config import Config
from wisehub.compute.service import ComputeService
from wisehub.compute.settings import URL_ENV
from wisehub.config import Settings
from wisehub.hub.configuration import configure


def configured(tmp_path, **hub) -> Config:
    c = Config()
    configure(c, Settings(data_dir=tmp_path, hub={"demo_password": "demo-1234", **hub},
                          compute={"limits": {"clusters": 3}}))
    return c


def hosted_compute(c: Config) -> ComputeService:
    [service] = [s for s in c.WisehubHub.hosted_services if s.identity.name == "compute"]
    return service


def test_service_roles_and_user_environment(tmp_path):
    c = configured(tmp_path)
    [entry] = [s for s in c.JupyterHub.services if s["name"] == "compute"]
    service = hosted_compute(c)
    # Registered as an external service with the hosted service's own URL and token.
    assert "command" not in entry
    assert (entry["url"], entry["api_token"]) == (service.identity.url, service.identity.token)
    assert entry["oauth_client_id"] == "service-compute" and entry["oauth_no_confirm"]
    assert service.config.compute.limits.clusters == 3 and not service.config.compute.run_as_owner
    assert service.config.state_dir == tmp_path / "hub" / "compute"
    assert service.config.environment["WISEHUB_DATA_DIR"] == str(tmp_path)
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["compute"]["services"] == ["compute"]
    assert set(roles["compute"]["scopes"]) == {"list:users", "read:users", "read:servers"}
    assert "access:services!service=compute" in roles["user"]["scopes"]
    assert "access:services!service=compute" in c.Spawner.server_token_scopes
    assert c.Spawner.environment[URL_ENV] == f"{entry['url']}/services/compute/"


def test_every_hosted_service_has_its_own_token(tmp_path):
    c = configured(tmp_path)
    hosted = {s.identity.name: s.identity.token for s in c.WisehubHub.hosted_services}
    assert sorted(hosted) == ["compute", "idle-culler", "publish", "wisehub-share-sync"]
    assert len(set(hosted.values())) == len(hosted)
    registered = {s["name"]: s.get("api_token") for s in c.JupyterHub.services}
    assert {name: registered[name] for name in hosted} == hosted


def test_system_users_mode_runs_clusters_as_their_owners(tmp_path):
    c = configured(tmp_path, spawner="system-users", authenticator="native")
    settings = hosted_compute(c).config.compute
    assert settings.run_as_owner
    assert settings.runtime_dir == tmp_path / "compute-clusters"
    assert settings.limits.clusters == 3
    assert "wisehub-group-guard" in {s.identity.name for s in c.WisehubHub.hosted_services}
