"""``configure(c, settings)``: the one place a JupyterHub is configured from wisehub settings.

The local launcher's ``jupyterhub_config.py`` calls it, and so does z2jh's ``hub.extraConfig``
in cluster mode. Mode-specific parts (network, spawner, homes and volumes) sit behind the small
``_network`` and ``_spawner`` seams.

>>> from traitlets.config import Config
>>> from wisehub.config import Settings
>>> c = Config()
>>> configure(c, Settings(data_dir="/tmp/wh-doc", hub={"demo_password": "demo-1234"}))
>>> c.JupyterHub.authenticator_class.__name__, sorted(c.JupyterHub.load_groups)
('DemoAuthenticator', ['astro101', 'lab'])
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from wisehub.config import Settings, SettingsError
from wisehub.hub import profiles, provision, sharesync
from wisehub.hub.ports import free_port
from wisehub.hub.settings import Directory, HubSettings, load_directory
from wisehub.publish.registration import hub_service as publish_service

SHARE_SYNC = "wisehub-share-sync"
CULLER = "idle-culler"
CHP_VERSION = "5.3.0"
"""configurable-http-proxy, installed with npm into ``.venv/npm`` (see docs/local-hub.md)."""


def configure(c: Any, settings: Settings) -> None:
    """Configure the JupyterHub config object ``c`` from ``settings``."""
    hub = settings.hub
    directory = load_directory(hub.users_file)
    if settings.mode == "local":
        _network(c, hub, hub_state_dir(settings))
    _authenticator(c, hub, directory)
    _users_and_groups(c, directory)
    _spawner(c, settings)
    _services(c, hub, hub_state_dir(settings))
    c.JupyterHub.services.append(publish_service(settings))
    _environment(c, settings)


def hub_state_dir(settings: Settings) -> Path:
    """Where a local hub keeps its database, cookie secret and launcher files."""
    return settings.data_dir / "hub"


def find_proxy() -> str:
    """The configurable-http-proxy executable: ``.venv/npm`` first, then ``PATH``.

    >>> find_proxy().endswith("configurable-http-proxy")
    True
    """
    bundled = Path(sys.prefix) / "npm" / "node_modules" / ".bin" / "configurable-http-proxy"
    found = str(bundled) if bundled.exists() else shutil.which("configurable-http-proxy")
    if found is None:
        raise SettingsError(
            f"configurable-http-proxy not found; install it with `npm install --prefix "
            f"{Path(sys.prefix) / 'npm'} configurable-http-proxy@{CHP_VERSION}`")
    return found


def _network(c: Any, hub: HubSettings, state: Path) -> None:
    # Every port is chosen free at start, so several hubs (tests, developers) share a machine.
    state.mkdir(parents=True, exist_ok=True)
    c.JupyterHub.bind_url = f"http://{hub.ip}:{hub.port or free_port(hub.ip)}/"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{free_port()}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{free_port()}"
    c.ConfigurableHTTPProxy.command = [find_proxy()]
    c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")


def _authenticator(c: Any, hub: HubSettings, directory: Directory) -> None:
    c.Authenticator.admin_users = set(directory.admins)
    c.Authenticator.allowed_users = directory.all_users()
    if hub.authenticator == "demo":
        from wisehub.hub.auth import DEMO_BANNER, DemoAuthenticator

        if hub.demo_password is None:
            raise SettingsError(
                "hub.demo_password (WISEHUB_HUB__DEMO_PASSWORD) is unset; `wisehub up` "
                "generates one, or set it (8+ characters) for the demo authenticator")
        password = hub.demo_password.get_secret_value()
        c.JupyterHub.authenticator_class = DemoAuthenticator
        c.SharedPasswordAuthenticator.user_password = password
        # Admins need a separate, longer password upstream; derive it so one secret is shown.
        c.SharedPasswordAuthenticator.admin_password = admin_password(password)
        c.JupyterHub.template_vars = {"announcement_login": DEMO_BANNER}
    elif hub.authenticator == "native":
        import nativeauthenticator

        from wisehub.hub.native import NativeAuthenticator

        c.JupyterHub.authenticator_class = NativeAuthenticator
        # Sign-up is open, but new accounts wait for an admin's approval at /hub/authorize.
        c.NativeAuthenticator.open_signup = False
        c.NativeAuthenticator.allow_all = True
        c.JupyterHub.template_paths = [str(Path(nativeauthenticator.__file__).parent / "templates")]


def admin_password(demo_password: str) -> str:
    """The demo admin password derived from the demo password (upstream wants ≥ 32 chars).

    >>> len(admin_password("wisehub1"))
    32
    """
    return f"{demo_password}-admin-{demo_password}".ljust(32, "!")


def _users_and_groups(c: Any, directory: Directory) -> None:
    c.JupyterHub.load_groups = {
        name: {"users": sorted(group.members), "properties": {"description": group.description}}
        for name, group in directory.groups.items()
    }
    c.JupyterHub.load_roles = [
        # Users may share their own servers (with a user, or with one of their groups).
        {"name": "user", "scopes": ["self", "shares!user", "read:users:name",
                                    "read:groups:name"]},
        {"name": SHARE_SYNC, "services": [SHARE_SYNC],
         "scopes": ["list:users", "read:users:name", "list:groups", "read:groups",
                    "read:shares", "shares", "read:users:shares", "users:shares",
                    "read:groups:shares", "access:servers"]},
        {"name": CULLER, "services": [CULLER],
         "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
    ]


def _spawner(c: Any, settings: Settings) -> None:
    hub = settings.hub
    if hub.spawner == "kubernetes":
        c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
        c.KubeSpawner.profile_list = profiles.kubespawner_profile_list(hub.profiles)
        c.Spawner.group_overrides = provision.kubernetes_group_volumes
        return
    homes = hub.homes_dir or (
        Path("/home") if hub.spawner == "system-users" else settings.data_dir / "hub" / "homes")
    c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
    c.Spawner.default_url = "/lab"
    c.Spawner.start_timeout = hub.start_timeout
    # JupyterLab can take long to import on a busy machine; waiting is better than failing.
    c.Spawner.http_timeout = hub.start_timeout
    c.Spawner.options_form = profiles.options_form(hub.profiles)
    c.Spawner.options_from_form = "simple"
    c.Spawner.apply_user_options = profiles.apply_user_options(hub.profiles)
    c.Spawner.pre_spawn_hook = provision.PreSpawn(
        homes=homes,
        workspaces=hub.workspaces_dir or settings.data_dir / "groups",
        notebooks=hub.notebooks,
        system_users=hub.spawner == "system-users",
    )
    if hub.spawner == "system-users":
        if os.geteuid() != 0:
            raise SettingsError("hub.spawner 'system-users' needs the hub to run as root")
        c.JupyterHub.spawner_class = "localprocess"
        c.LocalProcessSpawner.notebook_dir = "~"
    else:
        c.JupyterHub.spawner_class = "simple"
        c.SimpleLocalProcessSpawner.home_dir_template = str(homes / "{username}")
        if os.geteuid() == 0:
            c.Spawner.args = ["--allow-root"]


def _services(c: Any, hub: HubSettings, state: Path) -> None:
    c.JupyterHub.services = [
        {"name": CULLER, "command": [
            sys.executable, "-m", "jupyterhub_idle_culler",
            f"--timeout={hub.idle_timeout}", f"--cull-every={hub.cull_every}"]},
        # Run by path: the service needs only the standard library and requests, and
        # importing the wisehub package would cost it ~100 MB of science libraries.
        {"name": SHARE_SYNC, "command": [
            sys.executable, str(Path(sharesync.__file__)),
            f"--interval={hub.share_sync_interval}", f"--state={state / 'share-sync.json'}"]},
    ]


def _environment(c: Any, settings: Settings) -> None:
    env: dict[str, Any] = dict(settings.environment())
    env["WISEHUB_GROUPS"] = lambda spawner: ",".join(sorted(g.name for g in spawner.user.groups))
    # Dask fills {port}; the prefix makes the dashboard reachable through jupyter-server-proxy.
    env["DASK_DISTRIBUTED__DASHBOARD__LINK"] = "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"
    c.Spawner.environment = env
    # Upstream's `server` role, plus what sharing this server from a notebook needs.
    c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                     "shares!server", "read:users:name", "read:groups:name"]
