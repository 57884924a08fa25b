"""``configure(c, settings)``: the one place a JupyterHub is configured from wisehub settings.

The local launcher's ``jupyterhub_config.py`` calls it, and so does z2jh's ``hub.extraConfig``
in cluster mode. Mode-specific parts (network, spawner, homes and volumes) sit behind the small
``_network`` and ``_spawner`` seams.

>>> import tempfile
>>> from traitlets.config import Config
>>> from wisehub.config import Settings
>>> c = Config()
>>> configure(c, Settings(data_dir=tempfile.mkdtemp(), hub={"demo_password": "demo-1234"}))
>>> c.JupyterHub.authenticator_class.__name__, sorted(c.JupyterHub.load_groups)
('DemoAuthenticator', ['astro101', 'lab'])
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from wisehub import names
from wisehub.compute.settings import SERVICE, URL_ENV, ComputeSettings
from wisehub.config import Settings, SettingsError
from wisehub.hub import groupguard, profiles, provision, sharesync
from wisehub.hub.credentials import LINEAGE_URL_ENV, uses_database_roles
from wisehub.hub.ports import Ports
from wisehub.hub.settings import Directory, HubSettings, load_directory
from wisehub.hub.state import SERVER_UMASK, prepare_state_dir
from wisehub.publish.registration import SERVICE as PUBLISH
from wisehub.publish.registration import SHOP_URL_ENV
from wisehub.publish.registration import hub_service as publish_service
from wisehub.resources import proxy_version

SHARE_SYNC = sharesync.NAME
CULLER = "idle-culler"
GROUP_GUARD = groupguard.NAME
CHP_VERSION = proxy_version()
"""configurable-http-proxy, installed with npm into ``.venv/npm`` from ``hub/package.json``."""


PROXY_PID_FILE = "jupyterhub-proxy.pid"
"""JupyterHub's default name for its proxy's pid file, in the hub's state directory (beside
its config): the launcher ends a proxy its hub left behind from it."""


def configure(c: Any, settings: Settings) -> None:
    """Configure the JupyterHub config object ``c`` from ``settings``."""
    hub = settings.hub
    directory = load_directory(hub.users_file)
    # Every local port comes from one Ports: two free-port probes in a row can return the
    # same port (CI saw the hub's own port handed to the proxy's API as well).
    ports = Ports()
    if settings.mode == "local":
        _network(c, hub, hub_state_dir(settings), ports)
    _authenticator(c, hub, directory, hub_state_dir(settings))
    # With OIDC the identity provider owns membership (JupyterHub refuses load_groups then).
    _users_and_groups(c, directory, load_groups=hub.authenticator != "oidc")
    _spawner(c, settings, ports)
    _service_roles(c, settings)
    if settings.mode == "local":
        compute_url, publish_url = _hosted_services(c, settings, ports)
    else:
        compute_url = _managed_services(c, settings)
    _environment(c, settings, compute_url)
    if settings.mode == "local":  # wh.publish.shop in a server talks to the publish service
        c.Spawner.environment[SHOP_URL_ENV] = f"{publish_url}shop/api"


def hub_state_dir(settings: Settings) -> Path:
    """Where a local hub keeps its database, cookie secret and launcher files."""
    return settings.data_dir / "hub"


def workspaces_dir(settings: Settings) -> Path:
    """Where the group workspaces live (local modes)."""
    return settings.hub.workspaces_dir or settings.data_dir / "groups"


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


def _network(c: Any, hub: HubSettings, state: Path, ports: Ports) -> None:
    # Every port is chosen free at start, so several hubs (tests, developers) share a machine.
    prepare_state_dir(state)  # refuses to run on a state directory others can read
    public = ports.claim(hub.port) if hub.port else ports.take(hub.ip)
    c.JupyterHub.bind_url = f"http://{hub.ip}:{public}/"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{ports.take()}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{ports.take()}"
    c.ConfigurableHTTPProxy.command = [find_proxy()]
    c.ConfigurableHTTPProxy.pid_file = str(state / PROXY_PID_FILE)
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")


def _authenticator(c: Any, hub: HubSettings, directory: Directory, state: Path) -> None:
    # One name rule for API-created users, logins and sign-up (wisehub.names).
    c.Authenticator.username_pattern = names.PATTERN
    c.Authenticator.allowed_users = directory.all_users()
    if hub.authenticator == "demo":
        from wisehub.hub.auth import DEMO_BANNER, DemoAuthenticator

        if hub.demo_password is None:
            raise SettingsError(
                "hub.demo_password (WISEHUB_HUB__DEMO_PASSWORD) is unset; `wisehub up` "
                "generates one, or set it (8+ characters) for the demo authenticator")
        c.JupyterHub.authenticator_class = DemoAuthenticator
        c.Authenticator.admin_users = set(directory.admins)
        c.SharedPasswordAuthenticator.user_password = hub.demo_password.get_secret_value()
        # Admins have their own random password: knowing the class's must not help guess it.
        if hub.demo_admin_password is not None:
            c.SharedPasswordAuthenticator.admin_password = (
                hub.demo_admin_password.get_secret_value())
        c.JupyterHub.template_vars = {"announcement_login": DEMO_BANNER}
    elif hub.authenticator == "native":
        import nativeauthenticator

        from wisehub.hub.native import PENDING_ADMINS, NativeAuthenticator

        c.JupyterHub.authenticator_class = NativeAuthenticator
        # Sign-up is open, but every new account (listed or not) waits for an admin's approval
        # at /hub/authorize. Admins come from `wisehub hub add-admin` and the admin panel,
        # never from the users file: approving a sign-up must not make an admin unawares.
        c.NativeAuthenticator.open_signup = False
        c.NativeAuthenticator.allow_all = True
        c.NativeAuthenticator.pending_admins_file = str(state / PENDING_ADMINS)
        c.JupyterHub.template_paths = [str(Path(nativeauthenticator.__file__).parent / "templates")]
    elif hub.authenticator == "oidc":
        from wisehub.hub.oidc import configure_oidc

        configure_oidc(c, hub.oidc, admins=sorted(directory.admins))


def _users_and_groups(c: Any, directory: Directory, load_groups: bool) -> None:
    c.JupyterHub.load_groups = {
        name: {"users": sorted(group.members), "properties": {"description": group.description}}
        for name, group in directory.groups.items()
    } if load_groups else {}
    c.JupyterHub.load_roles = [
        # Users may share their own servers (with a user, or with one of their groups).
        {"name": "user", "scopes": ["self", "shares!user", "read:users:name",
                                    "read:groups:name", f"access:services!service={SERVICE}",
                                    f"access:services!service={PUBLISH}"]},
        {"name": SHARE_SYNC, "services": [SHARE_SYNC],
         "scopes": ["list:users", "read:users:name", "list:groups", "read:groups",
                    "read:shares", "shares", "read:users:shares", "users:shares",
                    "read:groups:shares", "access:servers"]},
        {"name": CULLER, "services": [CULLER],
         "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
    ]


def _spawner(c: Any, settings: Settings, ports: Ports) -> None:
    hub = settings.hub
    if hub.spawner == "kubernetes":
        from wisehub.hub.kube import configure_kubespawner

        configure_kubespawner(c, settings)
        return
    homes = hub.homes_dir or (
        Path("/home") if hub.spawner == "system-users" else settings.data_dir / "homes")
    # JupyterHub's server, ending without interpreter teardown (see wisehub.hub.singleuser).
    c.Spawner.cmd = [sys.executable, "-m", "wisehub.hub.singleuser"]
    c.Spawner.default_url = "/lab"
    c.Spawner.start_timeout = hub.start_timeout
    # JupyterLab can take long to import on a busy machine; waiting is better than failing.
    c.Spawner.http_timeout = hub.start_timeout
    c.Spawner.options_form = profiles.options_form(hub.profiles)
    c.Spawner.options_from_form = "simple"
    # The hub runs under umask 077 (its state is private); servers get the usual one back.
    c.LocalProcessSpawner.popen_kwargs = {"umask": SERVER_UMASK}
    c.Spawner.apply_user_options = profiles.apply_user_options(hub.profiles)
    c.Spawner.pre_spawn_hook = provision.PreSpawn(
        homes=homes,
        workspaces=workspaces_dir(settings),
        notebooks=hub.notebooks,
        system_users=hub.spawner == "system-users",
        accounts=hub_state_dir(settings) / provision.ACCOUNTS,
        ports=ports,
        settings=settings,
    )
    if hub.spawner == "system-users":
        if os.geteuid() != 0:
            raise SettingsError("hub.spawner 'system-users' needs the hub to run as root")
        c.JupyterHub.spawner_class = "wisehub.hub.spawners.LocalServerSpawner"
        c.LocalProcessSpawner.notebook_dir = "~"
    else:
        c.JupyterHub.spawner_class = "wisehub.hub.spawners.SimpleLocalServerSpawner"
        c.SimpleLocalProcessSpawner.home_dir_template = str(homes / "{username}")
        if os.geteuid() == 0:
            c.Spawner.args = ["--allow-root"]


def _service_roles(c: Any, settings: Settings) -> None:
    roles = [{"name": SERVICE, "services": [SERVICE],
              # Who a caller is (groups, admin) and whether their server still runs.
              "scopes": ["list:users", "read:users", "read:servers"]}]
    if settings.hub.spawner == "system-users":  # leaving a group ends access to its workspace
        roles.append({"name": GROUP_GUARD, "services": [GROUP_GUARD],
                      "scopes": ["list:groups", "read:groups", "read:users", "read:servers",
                                 "delete:servers"]})
    c.JupyterHub.load_roles = [*c.JupyterHub.load_roles, *roles]


def _local_compute(settings: Settings) -> ComputeSettings:
    if settings.hub.spawner != "system-users":
        return settings.compute
    # The hub's state directory is 0700: owners' processes work in a directory of their own
    # under one they can traverse (0711), outside it.
    return settings.compute.model_copy(update={
        "run_as_owner": True,
        "runtime_dir": settings.compute.runtime_dir or settings.data_dir / "compute-clusters"})


def _hosted_services(c: Any, settings: Settings, ports: Ports) -> tuple[str, str]:
    """Local mode: every service runs in the hub's process (:mod:`wisehub.hub.app`), each
    registered as an external service with a token of its own. Returns where the compute and
    publish services answer (``http://127.0.0.1:<port>/services/<name>/``)."""
    from wisehub.compute.service import ComputeService, ServiceConfig
    from wisehub.hub.culling import IdleCuller
    from wisehub.hub.hosted import HostedService, ServiceIdentity
    from wisehub.publish.service import PublishService

    hub, state = settings.hub, hub_state_dir(settings)
    hub_api = f"{c.JupyterHub.hub_bind_url}/hub/api"

    def identity(name: str, web: bool = False) -> ServiceIdentity:
        return ServiceIdentity.new(name, f"http://127.0.0.1:{ports.take()}" if web else "",
                                   hub_api)

    compute = ComputeService(ServiceConfig(_local_compute(settings), state / "compute",
                                           identity(SERVICE, web=True), settings.environment()))
    publish = PublishService(identity(PUBLISH, web=True), settings)
    hosted: list[HostedService] = [
        IdleCuller(identity(CULLER), interval=hub.cull_every, timeout=hub.idle_timeout),
        sharesync.ShareSync(identity(SHARE_SYNC), interval=hub.share_sync_interval,
                            state=state / "share-sync.json"),
        compute, publish]
    if hub.spawner == "system-users":
        hosted.append(groupguard.GroupGuard(
            identity(GROUP_GUARD), interval=hub.share_sync_interval,
            accounts=state / provision.ACCOUNTS, workspaces=workspaces_dir(settings)))
    extra = {SERVICE: {"oauth_no_confirm": True},
             PUBLISH: {"oauth_no_confirm": True, "display": False}}
    c.JupyterHub.services = [*c.JupyterHub.get("services", []), *(
        s.identity.registration(**extra.get(s.identity.name, {})) for s in hosted)]
    c.WisehubHub.hosted_services = hosted
    return (f"{compute.identity.url}{compute.identity.prefix}",
            f"{publish.identity.url}{publish.identity.prefix}")


def _managed_services(c: Any, settings: Settings) -> str:
    """Cluster mode: the hub runs the services as processes of its own, except the compute
    service, which the chart deploys. Returns the compute service's URL for user servers."""
    hub = settings.hub
    state = hub_state_dir(settings)
    # Appended to what is there: z2jh registers services from its values first.
    c.JupyterHub.services = [
        *c.JupyterHub.get("services", []),
        {"name": CULLER, "command": [
            sys.executable, "-m", "jupyterhub_idle_culler",
            f"--timeout={hub.idle_timeout}", f"--cull-every={hub.cull_every}"]},
        # Run by path: the service needs only the standard library and requests, and
        # importing the wisehub package would cost it ~100 MB of science libraries.
        {"name": SHARE_SYNC, "command": [
            sys.executable, str(Path(sharesync.__file__)),
            f"--interval={hub.share_sync_interval}", f"--state={state / 'share-sync.json'}"]},
        publish_service(settings),
    ]
    chart = next((s for s in c.JupyterHub.services if s.get("name") == SERVICE), None)
    if chart is not None:
        # z2jh registered it from the chart's values (hub.services.compute), with its token.
        chart.setdefault("oauth_no_confirm", True)
        return f"{chart['url']}/services/{SERVICE}/"
    url = os.environ.get("WISEHUB_COMPUTE_SERVICE_URL", "http://wisehub-compute:10101")
    c.JupyterHub.services.append({"name": SERVICE, "url": url, "oauth_no_confirm": True,
                                  "api_token": os.environ.get("WISEHUB_COMPUTE_API_TOKEN")})
    return f"{url}/services/{SERVICE}/"


def _environment(c: Any, settings: Settings, compute_url: str) -> None:
    env: dict[str, Any] = dict(settings.environment())
    if uses_database_roles(settings):
        # The hub's URL logs in as the owner of the lineage tables, which row security does
        # not restrict: each server gets its own role's URL at spawn (wisehub.hub.credentials).
        del env[LINEAGE_URL_ENV]
    env[URL_ENV] = compute_url
    env["WISEHUB_GROUPS"] = lambda spawner: ",".join(sorted(g.name for g in spawner.user.groups))
    # Dask fills {port}; the prefix makes the dashboard reachable through jupyter-server-proxy.
    env["DASK_DISTRIBUTED__DASHBOARD__LINK"] = "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"
    c.Spawner.environment = env
    # Upstream's `server` role plus reading names; no `shares!server`: everyone the server is
    # shared with can read this token, and must not be able to share the server onward.
    # Owners share with their own token (hub UI, /hub/token), which has `shares!user`.
    c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                     "read:users:name", "read:groups:name",
                                     f"access:services!service={SERVICE}",
                                     f"access:services!service={PUBLISH}"]
