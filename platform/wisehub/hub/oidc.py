"""OIDC login (``hub.authenticator: oidc``): OAuthenticator's GenericOAuthenticator for a
university identity provider (Keycloak, EGI Check-in, ...), groups from a token claim.

The identity provider's groups become the hub's groups at every login (``manage_groups``), so
profiles, workspaces, bucket policies and database roles follow the IdP's membership. The
client secret never sits in a settings file: it comes from ``WISEHUB_HUB__OIDC__CLIENT_SECRET``
(in cluster mode a Kubernetes Secret given to the hub pod as that variable).

>>> from traitlets.config import Config
>>> c = Config()
>>> configure_oidc(c, OIDCSettings(**EXAMPLE, client_secret="s3cret"), admins=["teacher"])
>>> c.GenericOAuthenticator.auth_state_groups_key, c.GenericOAuthenticator.manage_groups
('oauth_user.groups', True)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from wisehub.errors import SettingsError

SECRET_ENV = "WISEHUB_HUB__OIDC__CLIENT_SECRET"
"""Where the hub reads the client secret from (never from a settings file)."""

_HTTPS = r"^https://[^\s/]+(/\S*)?$"

EXAMPLE = {
    "client_id": "wisehub",
    "authorize_url": "https://idp.example.org/realms/uni/protocol/openid-connect/auth",
    "token_url": "https://idp.example.org/realms/uni/protocol/openid-connect/token",
    "userdata_url": "https://idp.example.org/realms/uni/protocol/openid-connect/userinfo",
    "callback_url": "https://hub.example.org/hub/oauth_callback",
}
"""A Keycloak realm's endpoints, for examples and tests."""


class OIDCSettings(BaseModel):
    """The ``hub.oidc:`` section: one OIDC client registered at the university's IdP.

    Environment variables use the ``WISEHUB_HUB__OIDC__`` prefix.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    client_id: str = Field(min_length=1, description="the client registered at the IdP")
    client_secret: SecretStr | None = Field(
        None, description=f"the client's secret; set it through {SECRET_ENV} (in cluster mode "
        "from a Kubernetes Secret), never in a file")
    authorize_url: str = Field(pattern=_HTTPS, description="the IdP's authorization endpoint")
    token_url: str = Field(pattern=_HTTPS, description="the IdP's token endpoint")
    userdata_url: str = Field(pattern=_HTTPS, description="the IdP's userinfo endpoint")
    callback_url: str = Field(
        pattern=_HTTPS, description="https://<hub host>/hub/oauth_callback, as registered")
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "profile", "email"],
        description="scopes asked for; add the one that releases the groups claim")
    username_claim: str = Field(
        "preferred_username", min_length=1,
        description="the userinfo claim that becomes the hub user name (it must follow the "
        "platform's name rule)")
    groups_claim: str = Field(
        "groups", min_length=1,
        description="the userinfo claim listing the user's groups (Keycloak: a group "
        "mapper without full paths; EGI Check-in: eduperson_entitlement)")
    allowed_groups: list[str] = Field(
        default_factory=list, description="members of these IdP groups may log in (besides "
        "the users file's users)")
    admin_groups: list[str] = Field(
        default_factory=list, description="members of these IdP groups are hub admins")


def configure_oidc(c: Any, oidc: OIDCSettings, admins: list[str]) -> None:
    """Configure GenericOAuthenticator on ``c`` from ``oidc``; ``admins`` are always admins.

    Raises :class:`~wisehub.errors.SettingsError` when the client secret is unset.

    >>> from traitlets.config import Config
    >>> configure_oidc(Config(), OIDCSettings(**EXAMPLE), admins=[])
    Traceback (most recent call last):
    ...
    wisehub.errors.SettingsError: hub.oidc.client_secret is unset: ...
    """
    from oauthenticator.generic import GenericOAuthenticator

    if oidc.client_secret is None or not oidc.client_secret.get_secret_value():
        raise SettingsError(
            f"hub.oidc.client_secret is unset: give the hub {SECRET_ENV} (in cluster mode from "
            "a Kubernetes Secret, see docs/deploy-openstack.md)")
    c.JupyterHub.authenticator_class = GenericOAuthenticator
    auth = c.GenericOAuthenticator
    auth.client_id = oidc.client_id
    auth.client_secret = oidc.client_secret.get_secret_value()
    auth.authorize_url = oidc.authorize_url
    auth.token_url = oidc.token_url
    auth.userdata_url = oidc.userdata_url
    auth.oauth_callback_url = oidc.callback_url
    auth.scope = list(oidc.scopes)
    auth.username_claim = oidc.username_claim
    auth.login_service = "your university account"
    # The IdP owns membership: its groups replace the user's hub groups at every login.
    auth.manage_groups = True
    auth.auth_state_groups_key = f"oauth_user.{oidc.groups_claim}"
    auth.allowed_groups = set(oidc.allowed_groups)
    auth.admin_groups = set(oidc.admin_groups)
    c.Authenticator.admin_users = set(admins)
