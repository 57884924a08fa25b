"""OIDC login in cluster mode: the OpenStack example's settings configure OAuthenticator's
GenericOAuthenticator through ``wisehub.hub.configure``, the client secret reaches the hub only
from a Kubernetes Secret, and the IdP's groups claim becomes the user's hub groups.

The login itself is exercised at unit level: no identity provider runs here, so the IdP's
userinfo answer is a FAKE (a dict standing in for the token exchange and the userinfo call);
everything after it (username, groups, admin, allow, and the hub's group sync on a real hub
database) is the real OAuthenticator and JupyterHub code.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from helmtools import render, settings_file
from jupyterhub import orm
from jupyterhub.user import User
from oauthenticator.generic import GenericOAuthenticator
from traitlets.config import Config
from wisehub.config import load_settings
from wisehub.errors import SettingsError
from wisehub.hub import configure

SECRET = "client-secret-from-the-kubernetes-secret"


@pytest.fixture
def oidc_config(rendered, tmp_path, monkeypatch) -> Config:
    """The hub's config as the OpenStack example's hub pod builds it (secret from its env)."""
    monkeypatch.setenv("WISEHUB_HUB__OIDC__CLIENT_SECRET", SECRET)
    c = Config()
    configure(c, load_settings(settings_file(rendered["openstack"], tmp_path)))
    return c


def test_the_client_secret_comes_only_from_a_kubernetes_secret(rendered):
    objects = rendered["openstack"]
    assert "client_secret" not in json.dumps([o for o in objects if o["kind"] == "ConfigMap"])
    values = yaml.safe_load(Path(__file__).parents[2].joinpath(
        "helm/wisehub/examples/openstack.yaml").read_text())
    env = values["jupyterhub"]["hub"]["extraEnv"]["WISEHUB_HUB__OIDC__CLIENT_SECRET"]
    assert env == {"valueFrom": {"secretKeyRef": {"name": "wisehub-oidc",
                                                  "key": "client-secret"}}}


def test_an_inline_client_secret_is_refused_before_rendering(chart):
    example = chart / "examples" / "openstack.yaml"
    with pytest.raises(RuntimeError, match="schema") as refused:
        render(chart, example, sets=("settings.hub.oidc.client_secret=hunter2",))
    assert "client_secret" in str(refused.value)


def test_configure_builds_generic_oauthenticator(oidc_config):
    c = oidc_config
    assert c.JupyterHub.authenticator_class is GenericOAuthenticator
    auth = c.GenericOAuthenticator
    assert auth.client_id == "wisehub" and auth.client_secret == SECRET
    assert auth.token_url.startswith("https://keycloak.example.org/realms/uni/")
    assert auth.oauth_callback_url == "https://hub.example.org/hub/oauth_callback"
    assert "groups" in auth.scope and auth.username_claim == "preferred_username"
    assert auth.manage_groups is True and auth.auth_state_groups_key == "oauth_user.groups"
    assert auth.allowed_groups == {"astro101", "lab", "survey"}
    assert auth.admin_groups == {"wisehub-admins"}
    assert c.Authenticator.admin_users == {"operator"}
    assert c.JupyterHub.load_groups == {}  # the IdP owns membership (JupyterHub insists)


def test_without_its_secret_the_hub_refuses_to_start(rendered, tmp_path, monkeypatch):
    monkeypatch.delenv("WISEHUB_HUB__OIDC__CLIENT_SECRET", raising=False)
    with pytest.raises(SettingsError, match="WISEHUB_HUB__OIDC__CLIENT_SECRET"):
        configure(Config(), load_settings(settings_file(rendered["openstack"], tmp_path)))


async def _login(c: Config, userinfo: dict) -> dict | None:
    """What the hub gets from a login whose (FAKE) IdP answers ``userinfo``."""
    authenticator = GenericOAuthenticator(config=c)

    async def fake_userinfo(token_info: dict) -> dict:
        assert token_info["access_token"] == "fake-access-token"
        return userinfo

    authenticator.token_to_user = fake_userinfo
    model = await authenticator._token_to_auth_model(
        {"access_token": "fake-access-token", "token_type": "Bearer"})
    if not await authenticator.check_allowed(model["name"], model):
        return None
    return model


def test_groups_claim_becomes_the_users_hub_groups(oidc_config, tmp_path):
    claims = {"sub": "f3a1", "preferred_username": "alice", "groups": ["lab", "survey"]}
    model = asyncio.run(_login(oidc_config, claims))
    assert model["name"] == "alice" and model["groups"] == ["lab", "survey"]
    assert not model["admin"]
    # What JupyterHub's login does with them, on a real hub database: the IdP's groups
    # replace the ones alice had before (she has left astro101 at the IdP).
    db = orm.new_session_factory(f"sqlite:///{tmp_path / 'hub.sqlite'}")()
    alice = orm.User(name="alice")
    alice.groups = [orm.Group(name="astro101")]
    db.add(alice)
    db.commit()
    User(alice, db=db).sync_groups(model["groups"])
    assert sorted(g.name for g in alice.groups) == ["lab", "survey"]


def test_admin_group_members_are_admins(oidc_config):
    model = asyncio.run(_login(oidc_config, {"preferred_username": "carol",
                                             "groups": ["lab", "wisehub-admins"]}))
    assert model["admin"] is True


def test_members_of_no_allowed_group_cannot_log_in(oidc_config):
    assert asyncio.run(_login(oidc_config, {"preferred_username": "mallory",
                                            "groups": ["other-faculty"]})) is None


def test_a_username_claim_breaking_the_name_rule_is_refused(oidc_config):
    authenticator = GenericOAuthenticator(config=oidc_config)
    assert authenticator.validate_username("alice")
    # An e-mail or a dotted name would widen bucket policies and role names: refused.
    assert not authenticator.validate_username("alice.smith@uni.example.org")
