"""The compute service in a real hub (JupyterHub + proxy + the service it runs), local backend.

Starts: one hub for the module (demo auth, local spawner) whose ``compute`` service makes real
TLS Dask schedulers and workers on 127.0.0.1; two user servers. Users are unique per test.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator

import aiohttp
import psutil
import pytest
import requests
from distributed import Client
from hubtools import client, run, unique  # tests/hub is on pytest's pythonpath
from wisehub.compute.api_client import ComputeAPI, ComputeError
from wisehub.compute.hubapi import HubAPI
from wisehub.compute.manager import ClusterManager
from wisehub.config import Settings, load_settings
from wisehub.hub.configuration import hub_state_dir
from wisehub.hub.launcher import RunningHub, start, stop

pytestmark = pytest.mark.hub

LIMITS = {"clusters": 2, "workers": 3, "cores": 3, "memory": 3 * 2**30, "worker_cores": 2,
          "worker_memory": 2**30, "idle_timeout": 600}

KERNEL_CODE = """
import json
import re
import wisehub as wh
client = wh.cluster(2, threads_per_worker=1, memory_limit="400MiB")
client.wait_for_workers(2, timeout=120)
total = client.submit(sum, range(10)).result()
print(json.dumps({"total": total, "link": client.dashboard_link,
                  "widget_has_link": client.dashboard_link in client._repr_html_(),
                  "address": client.scheduler.address,
                  "workers": len(client.scheduler_info()["workers"]),
                  "listed": [c["id"] for c in wh.compute.clusters()]}))
"""


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(
        data_dir=tmp_path_factory.mktemp("compute-hub"),
        hub={"demo_password": "demo-password-for-tests", "notebooks": []},
        compute={"limits": LIMITS, "groups": {"lab": {"clusters": 3}}, "poll_interval": 1})


@pytest.fixture(scope="module")
def hub(settings: Settings) -> Iterator[RunningHub]:
    running = start(settings)
    try:
        yield running
    finally:
        stop(running)


def api_for(hub: RunningHub, user: str, groups: tuple[str, ...] = ()) -> ComputeAPI:
    """A new hub user (in ``groups``) and the compute API with a fresh token of theirs."""
    async def make() -> str:
        async with client(hub) as admin:
            await admin.create_user(user)
            for group in groups:
                await admin.create_group(group, [user])
            return await admin.token_for(user)
    return ComputeAPI(f"{hub.url}services/compute/", run(make()))


def wait_until(check, timeout: float = 60, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def test_two_users_compute_and_cannot_touch_each_other(hub: RunningHub):
    ann, bob = unique("ann"), unique("bob")
    bob_api = api_for(hub, bob)

    async def in_ann_kernel() -> dict:
        async with client(hub) as admin:
            await admin.create_user(ann)
            await admin.spawn(ann)
            return json.loads((await admin.run_code(ann, KERNEL_CODE)).strip().splitlines()[-1])

    result = run(in_ann_kernel())
    assert result["total"] == 45 and result["workers"] == 2
    assert result["address"].startswith("tls://")
    [cluster_id] = result["listed"]
    assert result["link"] == f"/services/compute/clusters/{cluster_id}/status"
    assert result["widget_has_link"]  # the notebook widget links through the hub too

    # Bob computes on a cluster of his own.
    bob_cluster = bob_api.create(1, memory="400MiB")
    with bob_api.connect(bob_cluster["id"]) as bob_client:
        bob_client.wait_for_workers(1, timeout=120)
        assert bob_client.submit(pow, 3, 3).result() == 27
        # Code on his workers finds none of the service's own credentials (its hub token).
        seen = bob_client.run(lambda: sorted(k for k in __import__("os").environ
                                             if k.startswith("JUPYTERHUB_")))
        assert seen and all(names == [] for names in seen.values())
    # ... and sees, scales, deletes and connects to nothing of Ann's.
    assert [c["id"] for c in bob_api.list()] == [bob_cluster["id"]]
    for attempt in (lambda: bob_api.get(cluster_id),
                    lambda: bob_api.scale(cluster_id, 0),
                    lambda: bob_api.delete(cluster_id),
                    lambda: bob_api.connect(cluster_id)):
        with pytest.raises(ComputeError, match="404"):
            attempt()
    # Holding Ann's address and his own cluster's credentials gets Bob nowhere.
    own = bob_api.request("GET", f"clusters/{bob_cluster['id']}/connection")
    from wisehub.compute.security import ClusterCredentials
    with pytest.raises((OSError, TimeoutError)):
        Client(result["address"], timeout=5, set_as_default=False,  # see test_security
               security=ClusterCredentials.from_dict(own["credentials"]).security())
    # The dashboard answers its owner through the hub, and nobody else.
    ann_token = run(_token(hub, ann))
    page = requests.get(hub.url.rstrip("/") + result["link"], timeout=60,
                        headers={"Authorization": f"token {ann_token}"})
    assert page.status_code == 200 and "Dask" in page.text
    # Its assets load through the same authenticated route.
    script = re.search(r'src="(/services/compute/clusters/[^"]+/static/js/bokeh[^"]+)"',
                       page.text)
    assert script is not None, "the page refers to its scripts under the proxied prefix"
    asset = requests.get(hub.url.rstrip("/") + script.group(1), timeout=60,
                         headers={"Authorization": f"token {ann_token}"})
    assert asset.status_code == 200 and len(asset.content) > 10_000
    refused = requests.get(hub.url.rstrip("/") + result["link"], timeout=60,
                           headers={"Authorization": f"token {bob_api.token}"})
    assert refused.status_code == 404
    anonymous = requests.get(hub.url.rstrip("/") + result["link"], timeout=60,
                             allow_redirects=False)
    assert anonymous.status_code == 302 and "/hub/api/oauth2/authorize" in \
        anonymous.headers["Location"]

    # Stopping Ann's server removes her cluster (and its processes).
    ann_api = ComputeAPI(bob_api.url, ann_token)
    assert [c["id"] for c in ann_api.list()] == [cluster_id]
    run(_stop(hub, ann))
    assert wait_until(lambda: ann_api.list() == [], timeout=60)
    bob_api.delete(bob_cluster["id"])
    assert bob_api.list() == []


async def _token(hub: RunningHub, user: str) -> str:
    async with client(hub) as admin:
        return await admin.token_for(user)


async def _stop(hub: RunningHub, user: str) -> None:
    async with client(hub) as admin:
        await admin.stop(user)


def test_limits_hold_under_twenty_concurrent_creates(hub: RunningHub):
    api = api_for(hub, unique("cat"))

    async def burst() -> list[tuple[int, str]]:
        async with aiohttp.ClientSession(headers={"Authorization": f"token {api.token}"}) as s:
            async def one() -> tuple[int, str]:
                async with s.post(api.url + "clusters", json={"workers": 0}) as reply:
                    return reply.status, await reply.text()
            return await asyncio.gather(*(one() for _ in range(20)))

    outcomes = run(burst())
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [201] * 2 + [429] * 18
    refusal = next(json.loads(body)["message"] for status, body in outcomes if status == 429)
    assert refusal == "limit 'clusters' is 2 per user; you hold 2 and asked for 1 more"
    assert len(api.list()) == 2
    for cluster in api.list():
        api.delete(cluster["id"])


def test_worker_limits_and_group_override(hub: RunningHub):
    api = api_for(hub, unique("dan"))
    with pytest.raises(ComputeError, match="429 limit 'workers' is 3 per user; you hold 0"):
        api.create(4)
    with pytest.raises(ComputeError, match="400 limit 'worker_cores' is 2 per worker"):
        api.create(0, cores=3)
    with pytest.raises(ComputeError, match="429 limit 'workers' is 3 per user"):
        api.create(adaptive=True, workers=5)
    made = api.create(0)
    with pytest.raises(ComputeError, match="429 limit 'workers' is 3 per user"):
        api.scale(made["id"], 4)
    api.delete(made["id"])
    # A lab member may hold three clusters; others two.
    lab = api_for(hub, unique("eve"), groups=("lab",))
    made = [lab.create(0)["id"] for _ in range(3)]
    with pytest.raises(ComputeError, match="limit 'clusters' is 3 per user; you hold 3"):
        lab.create(0)
    for cluster_id in made:
        lab.delete(cluster_id)
    assert api.list() == [] and lab.list() == []


@pytest.mark.parametrize("body, problem", [
    (b"{not json", "not JSON"),
    ({"workers": 1, "gpus": 2}, "gpus: Extra inputs are not permitted"),
    ({"workers": -1}, "workers: Input should be greater than or equal to 0"),
    ({"workers": 10**9}, "workers: Input should be less than or equal to 1000"),
    ({"workers": "2"}, "workers: Input should be a valid integer"),
    ({"worker_memory": -5}, "worker_memory: Input should be greater than 0"),
    ({"adaptive": {"minimum": 3, "maximum": 1}}, "minimum 3 is above maximum 1"),
    ({"workers": 1, "adaptive": {"maximum": 2}}, "either workers or adaptive"),
])
def test_bad_input_is_refused_and_creates_nothing(hub: RunningHub, body, problem):
    api = api_for(hub, unique("fay"))
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    reply = requests.post(api.url + "clusters", timeout=60,
                          headers={"Authorization": f"token {api.token}"}, **kwargs)
    assert reply.status_code == 400
    assert problem in reply.json()["message"]
    assert api.list() == []


def test_bad_or_expired_tokens_are_refused(hub: RunningHub):
    user = unique("gus")
    api_for(hub, user)

    async def short_lived() -> str:
        async with client(hub) as admin:
            reply = await admin.api("POST", f"/users/{user}/tokens", {"expires_in": 1})
            return reply["token"]

    expired = run(short_lived())
    time.sleep(2.5)
    for token in (expired, "not-a-token"):
        reply = requests.post(f"{hub.url}services/compute/clusters", json={"workers": 0},
                              headers={"Authorization": f"token {token}"}, timeout=60)
        assert reply.status_code == 403
        assert "access:services!service=compute" in reply.json()["message"]


def test_idle_clusters_are_culled(hub: RunningHub):
    api = api_for(hub, unique("hal"))
    made = api.create(1, memory="300MiB")
    reply = requests.post(api.url + "clusters", json={"workers": 0, "idle_timeout": 3},
                          headers={"Authorization": f"token {api.token}"}, timeout=60)
    assert reply.status_code == 201, reply.text
    idle = reply.json()
    assert idle["idle_timeout"] == 3
    assert wait_until(lambda: [c["id"] for c in api.list()] == [made["id"]], timeout=60)
    api.delete(made["id"])
    assert not [p for p in psutil.process_iter(["cmdline"])
                if idle["id"] in " ".join(p.info["cmdline"] or [])]


def test_cli_lists_scales_and_deletes(hub: RunningHub, monkeypatch):
    from typer.testing import CliRunner
    from wisehub.cli import app

    api = api_for(hub, unique("ivy"))
    made = api.create(0)
    monkeypatch.setenv("WISEHUB_COMPUTE_URL", api.url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", api.token)
    runner = CliRunner()
    listed = runner.invoke(app, ["compute", "list"])
    assert listed.exit_code == 0 and made["id"] in listed.output and "0 workers" in listed.output
    scaled = runner.invoke(app, ["compute", "scale", made["id"], "1"])
    assert scaled.exit_code == 0 and "1 workers running" in scaled.output
    assert api.get(made["id"])["running_workers"] == 1
    assert runner.invoke(app, ["compute", "delete", made["id"]]).exit_code == 0
    assert api.list() == []


def test_admins_see_every_cluster_but_get_no_credentials(hub: RunningHub):
    owner_api = api_for(hub, unique("jon"))
    admin_name = unique("boss")

    async def make_admin() -> str:
        async with client(hub) as admin:
            await admin.api("POST", f"/users/{admin_name}", {"admin": True}, ok=(201,))
            return await admin.token_for(admin_name)

    admin_api = ComputeAPI(owner_api.url, run(make_admin()))
    made = owner_api.create(0)
    assert made["id"] in [c["id"] for c in admin_api.list()]
    assert admin_api.get(made["id"])["owner"] == owner_api.get(made["id"])["owner"]
    with pytest.raises(ComputeError, match="404"):
        admin_api.connect(made["id"])
    admin_api.delete(made["id"])
    assert owner_api.list() == []


def test_a_restarted_service_rediscovers_live_clusters(hub: RunningHub, settings: Settings):
    """The hub hosts the service, so a restart of the service is a restart of the hub; what
    it finds then is what a new service on the same state directory finds: here one made in
    this test process, beside the hub's, adopts the live cluster and can reach it."""
    api = api_for(hub, unique("kim"))
    made = api.create(1, memory="300MiB")
    state = hub_state_dir(settings) / "compute"
    again = ClusterManager(settings.compute, state, HubAPI(f"{hub.url}hub/api", hub.token))
    run(again.rediscover())
    assert list(again.records) == [made["id"]]
    record = again.records[made["id"]]
    assert record.status == "running" and record.owner == made["owner"]
    with Client(record.address, security=again.credentials(record).security(),
                timeout=60) as client:
        client.wait_for_workers(1, timeout=60)
        assert client.submit(sum, [20, 22]).result() == 42
    api.delete(made["id"])
    assert api.list() == []


def _bokeh_socket(hub: RunningHub, link: str, token: str, page_token: str
                  ) -> dict[str, object]:
    """Open the dashboard's websocket through the hub with ``token``; what came back."""
    async def talk() -> dict[str, object]:
        url = hub.url.replace("http", "ws", 1).rstrip("/") + link + "/ws"
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                async with session.ws_connect(  # compress=0: see wisehub.hub.client
                        url, protocols=("bokeh", page_token), compress=0,
                        headers={"Authorization": f"token {token}"}) as socket:
                    first = await socket.receive(timeout=60)
                    return {"opened": True, "first": first.data}
            except aiohttp.WSServerHandshakeError as err:
                return {"opened": False, "status": err.status}

    return run(talk())


def test_dashboard_websocket_relays_for_the_owner_only(hub: RunningHub):
    """Bokeh's live updates (its websocket) come through the service's route to the owner;
    another user's handshake is refused."""
    owner, other = api_for(hub, unique("liz")), api_for(hub, unique("max"))
    made = owner.create(0)
    try:
        page = requests.get(hub.url.rstrip("/") + made["dashboard_link"], timeout=60,
                            headers={"Authorization": f"token {owner.token}"})
        assert page.status_code == 200
        page_token = re.search(r'"token":"([^"]+)"', page.text).group(1)
        mine = _bokeh_socket(hub, made["dashboard_link"], owner.token, page_token)
        assert mine["opened"], mine
        assert '"msgtype":"ACK"' in str(mine["first"]).replace(" ", "")  # Bokeh's hello
        theirs = _bokeh_socket(hub, made["dashboard_link"], other.token, page_token)
        assert theirs == {"opened": False, "status": 404}
    finally:
        owner.delete(made["id"])


@pytest.mark.browser
def test_dashboard_opens_in_a_browser_for_its_owner_only(hub: RunningHub):
    """Debian's chromium (Playwright), logged in through the hub's login form: the owner's
    dashboard link renders the live Bokeh plots; another logged-in user gets a 404."""
    from playwright.sync_api import expect, sync_playwright

    owner_name, other_name = unique("nia"), unique("oz")
    owner, _ = api_for(hub, owner_name), api_for(hub, other_name)
    made = owner.create(1, memory="300MiB")
    url = hub.url.rstrip("/") + made["dashboard_link"]

    def logged_in(browser, user):
        page = browser.new_context().new_page()
        page.set_default_timeout(180_000)
        page.goto(f"{hub.url}hub/login")
        page.fill("#username_input", user)
        page.fill("#password_input", "demo-password-for-tests")
        page.click("#login_submit")
        page.wait_for_url(re.compile(r"/(hub/spawn|hub/home|user/)"))
        return page

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--no-sandbox"])
            expect.set_options(timeout=180_000)
            try:
                page = logged_in(browser, owner_name)
                reply = page.goto(url)
                assert reply is not None and reply.ok
                page.wait_for_url(url)
                expect(page).to_have_title(re.compile("Dask"))
                # Bokeh draws only once its websocket (through the relay) delivers the document.
                plot = page.locator("canvas").first
                expect(plot).to_be_visible()
                assert plot.evaluate("c => c.width") > 50
                intruder = logged_in(browser, other_name)
                refused = intruder.goto(url)
                assert refused is not None and refused.status == 404
                assert "no cluster" in intruder.content()
            finally:
                browser.close()
    finally:
        owner.delete(made["id"])
