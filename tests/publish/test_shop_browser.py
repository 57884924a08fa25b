"""The shop's web page in Debian's chromium (Playwright), as a pupil logged in to the hub:
pick cuts and columns, order CSV, watch the order finish, download it, and fill the form
again from the order as a template.

Starts: the session hub with the publish service; one shop batch job.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from wisehub.config import Settings
from wisehub.hub.launcher import RunningHub
from wisehub.samples import SampleSet

pytestmark = [pytest.mark.hub, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"


def test_order_in_the_browser(publish_hub: RunningHub, publish_settings: Settings,
                              sample_set: SampleSet, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    password = publish_settings.hub.demo_password.get_secret_value()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(accept_downloads=True)
            page.set_default_timeout(120_000)
            page.goto(f"{publish_hub.url}hub/login")
            page.fill("#username_input", "pupil3")
            page.fill("#password_input", password)
            page.click("#login_submit")
            page.wait_for_url(re.compile(r"/hub/|/user/"))
            page.goto(f"{publish_hub.url}services/publish/shop/")  # OAuth with the hub
            expect(page.locator("h1")).to_have_text("Data shop")
            expect(page.get_by_text("Logged in as pupil3")).to_be_visible()
            page.select_option("#dataset", "samples/showers.events")
            expect(page.locator("#min-energy_ev")).to_be_visible()
            page.fill("#min-energy_ev", "4e15")
            page.fill("#max-zenith_deg", "25")
            for column in ("azimuth_deg", "core_x_m", "core_y_m", "time_unix"):
                page.uncheck(f"#keep-{column}")
            page.select_option("#format", "csv")
            page.fill("#name", "knee pupils")
            page.click("#order")
            expect(page.locator("#message")).to_contain_text("queued")
            row = page.locator("#orders tr").first
            expect(row.locator(".status")).to_have_text("succeeded", timeout=600_000)
            with page.expect_download() as download:
                row.get_by_role("link", name=re.compile("Download")).click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)

            row.get_by_role("button", name="Use as template").click()
            expect(page.locator("#message")).to_contain_text("form filled from order")
            expect(page.locator("#max-zenith_deg")).to_have_value("25")
            assert not page.locator("#keep-core_x_m").is_checked()
            assert page.locator("#format").input_value() == "csv"
        finally:
            browser.close()

    assert saved.name == "knee-pupils.csv"
    table = pd.read_csv(saved, comment="#")
    events = xr.open_zarr(sample_set.stores["showers"]).compute()
    keep = ((events.energy_ev >= 4e15) & (events.zenith_deg <= 25)).values
    assert sorted(table.columns) == ["energy_ev", "muon_number", "shower_size", "zenith_deg"]
    np.testing.assert_array_equal(table["energy_ev"].to_numpy(), events.energy_ev.values[keep])
    assert "# licence: CC0-1.0" in saved.read_text()
