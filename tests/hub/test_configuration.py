"""configure(c, settings) and its pieces, without starting a hub (fast)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from jupyterhub import orm
from jupyterhub.app import JupyterHub
from nativeauthenticator import NativeAuthenticator as UpstreamNativeAuthenticator
from tornado import web
from traitlets.config import Config
from wisehub.config import SettingsError, load_settings
from wisehub.hub import configure
from wisehub.hub.auth import DemoAuthenticator
from wisehub.hub.configuration import GROUP_GUARD
from wisehub.hub.ports import Ports
from wisehub.hub.profiles import choose, offered
from wisehub.hub.settings import HubSettings, load_directory


def spawner_of(*groups: str) -> SimpleNamespace:
    """What the hooks read from a spawner: its user's (real ORM) groups."""
    user = orm.User(name="ann")
    user.groups = [orm.Group(name=g) for g in groups]
    return SimpleNamespace(user=user)


def test_demo_config_sets_groups_users_services_and_environment(tmp_path: Path):
    c = Config()
    configure(c, load_settings(data_dir=tmp_path, hub={"demo_password": "secret-123"}))
    assert c.JupyterHub.authenticator_class is DemoAuthenticator
    assert c.SharedPasswordAuthenticator.user_password == "secret-123"
    assert c.Authenticator.admin_users == {"teacher"}
    assert {"pupil1", "alice", "teacher"} <= c.Authenticator.allowed_users
    assert c.JupyterHub.load_groups["lab"]["users"] == ["alice", "bob"]
    assert c.JupyterHub.bind_url.startswith("http://127.0.0.1:")
    assert {s["name"] for s in c.JupyterHub.services} == {"idle-culler", "wisehub-share-sync",
                                                          "compute", "publish"}
    # Locally the hub hosts them all (wisehub.hub.app); none is a process of its own.
    assert not any("command" in s for s in c.JupyterHub.services)
    culler = next(s for s in c.WisehubHub.hosted_services if s.identity.name == "idle-culler")
    assert (culler.timeout, culler.interval) == (3600, 300)
    env = c.Spawner.environment
    assert env["WISEHUB_DATA_DIR"] == str(tmp_path)
    assert env["WISEHUB_GROUPS"](spawner_of("lab", "astro101")) == "astro101,lab"
    assert "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}" in env["DASK_DISTRIBUTED__DASHBOARD__LINK"]


def test_demo_without_password_names_the_setting(tmp_path: Path):
    with pytest.raises(SettingsError, match="hub.demo_password"):
        configure(Config(), load_settings(data_dir=tmp_path))


def test_native_authenticator_needs_admin_approval(tmp_path: Path):
    c = Config()
    configure(c, load_settings(data_dir=tmp_path, hub={"authenticator": "native"}))
    assert issubclass(c.JupyterHub.authenticator_class, UpstreamNativeAuthenticator)
    assert c.NativeAuthenticator.open_signup is False
    assert "admin_users" not in c.Authenticator  # the users file's admins are not admins here
    assert "shares!server" not in c.Spawner.server_token_scopes
    assert Path(c.JupyterHub.template_paths[0], "signup.html").is_file()


@pytest.mark.parametrize(("bind", "allowed"), [("127.0.0.1", True), ("0.0.0.0", False),
                                               ("192.168.1.20", False)])
def test_demo_authenticator_serves_only_on_loopback(bind: str, allowed: bool):
    app = JupyterHub(bind_url=f"http://{bind}:8000/")
    auth = DemoAuthenticator(parent=app, user_password="secret-123", allowed_users={"ann"})
    if allowed:
        auth.check_allow_config()
    else:
        with pytest.raises(ValueError, match="loopback"):
            auth.check_allow_config()


def test_profiles_offered_by_group_and_forcing_is_refused():
    profiles = HubSettings().profiles
    assert [p.slug for p in offered(profiles, [])] == ["small", "medium"]
    assert choose(profiles, ["lab"], "large").slug == "large"
    assert choose(profiles, [], None).slug == "small"
    with pytest.raises(web.HTTPError) as refused:
        choose(profiles, ["astro101"], "large")
    assert refused.value.status_code == 403
    with pytest.raises(web.HTTPError) as unknown:
        choose(profiles, ["lab"], "huge")
    assert unknown.value.status_code == 400 and "small" in unknown.value.log_message


def test_users_file_errors_name_the_file_and_problem(tmp_path: Path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SettingsError, match="nope.yaml does not exist"):
        load_directory(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("groups:\n  Lab Group:\n    members: [Ann]\n")
    with pytest.raises(SettingsError, match="invalid user or group names"):
        load_directory(bad)


def test_duplicate_profiles_are_rejected(tmp_path: Path):
    profile = {"slug": "small", "display_name": "S"}
    with pytest.raises(SettingsError, match="duplicate"):
        load_settings(data_dir=tmp_path, hub={"profiles": [profile, profile]})


def test_ports_are_never_handed_out_twice_while_remembered():
    ports = Ports(memory=300)
    taken = [ports.take() for _ in range(300)]
    assert len(set(taken)) == 300


@pytest.mark.skipif(os.geteuid() != 0, reason="system-users mode needs root")
def test_group_guard_runs_with_system_users_only(tmp_path: Path):
    services = {}
    for spawner in ("local", "system-users"):
        c = Config()
        configure(c, load_settings(data_dir=tmp_path / spawner, hub={
            "spawner": spawner, "authenticator": "native"}))
        services[spawner] = {s["name"] for s in c.JupyterHub.services}
        roles = {r["name"] for r in c.JupyterHub.load_roles}
        assert (GROUP_GUARD in roles) == (spawner == "system-users")
    assert GROUP_GUARD in services["system-users"] and GROUP_GUARD not in services["local"]


def test_every_local_port_is_a_different_one_when_probes_repeat(tmp_path: Path, monkeypatch):
    # Two free-port probes in a row may return the same port: CI once saw the hub's own
    # port given to the proxy's API too, and the hub could not start.
    probes = iter(port for port in range(20000, 20100) for _ in range(2))

    def repeating_probe(host: str = "127.0.0.1") -> int:
        return next(probes)

    monkeypatch.setattr("wisehub.hub.ports.free_port", repeating_probe)
    # (where the configuration probed for itself, it gets the same repeating probe)
    monkeypatch.setattr("wisehub.hub.configuration.free_port", repeating_probe, raising=False)
    c = Config()
    configure(c, load_settings(data_dir=tmp_path, hub={"demo_password": "secret-123",
                                                       "port": 20001}))  # as `up --port`
    urls = [c.JupyterHub.bind_url, c.JupyterHub.hub_bind_url, c.ConfigurableHTTPProxy.api_url,
            *(s["url"] for s in c.JupyterHub.services if s.get("url"))]
    ports = [int(url.rstrip("/").rsplit(":", 1)[1]) for url in urls]
    assert len(ports) == 5 and len(set(ports)) == 5, urls
    # User servers' ports come from the same record: none of those again.
    probes = iter([*ports, 30000])
    spawner = SimpleNamespace(port=0, user=orm.User(name="ann"))
    spawner.user.groups = []
    c.Spawner.pre_spawn_hook(spawner)
    assert spawner.port == 30000
