"""A new user in a real browser: log in, start a server, land in the first tutorial, run all
its cells and see its plots.

Starts: the session hub (tests/hub/conftest.py); drives Debian's /usr/bin/chromium with
Playwright (never a downloaded browser). Leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hubtools import first_tutorial
from wisehub.config import Settings
from wisehub.hub.launcher import RunningHub

pytestmark = [pytest.mark.hub, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # the checkout's


def test_new_user_logs_in_runs_the_tutorial_and_sees_a_plot(hub: RunningHub,
                                                             hub_settings: Settings):
    from playwright.sync_api import expect, sync_playwright

    user = "pupil2"  # in the class list, never logged in before
    password = hub_settings.hub.demo_password.get_secret_value()
    tutorial = first_tutorial(hub_settings)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(300_000)
        expect.set_options(timeout=300_000)  # a busy CI machine starts JupyterLab slowly
        try:
            page.goto(f"{hub.url}hub/login")
            expect(page.get_by_text("Demo login")).to_be_visible()
            page.fill("#username_input", user)
            page.fill("#password_input", password)
            page.click("#login_submit")
            # The spawn form offers the profiles this user's groups may use.
            expect(page.locator('input[name="profile"][value="small"]')).to_be_checked()
            assert page.locator('input[name="profile"][value="large"]').count() == 0
            page.get_by_role("button", name=re.compile("start", re.I)).click()
            # First login: JupyterLab opens the first tutorial.
            page.wait_for_url(re.compile(rf"/user/{user}/lab/tree/{re.escape(tutorial.as_posix())}"))
            tab = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
            expect(tab.locator(".jp-Cell").first).to_be_visible()
            # Run all the tutorial's cells and see its plots (bokeh draws on canvases).
            expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle")
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
            plot = tab.locator(".jp-OutputArea-output canvas").first
            expect(plot).to_be_visible()
            assert plot.evaluate("c => c.width") > 100
            expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle")
            expect(tab.get_by_text("Traceback (most recent call last)")).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "hub-tutorial.png"))
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "hub-tutorial-failure.png"))
            raise
        finally:
            browser.close()
    assert (ARTIFACTS / "hub-tutorial.png").stat().st_size > 10_000
