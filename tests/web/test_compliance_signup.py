"""Signing up as a resident of a region from the web page (docs/compliance.md, docs/web.md): the
region chosen in the top bar goes with the sandbox sign-up; a Japanese resident sees perpetual
futures open with the 2x cap on the Account page (and the exchange agrees), a refused region is
refused on the page in words, and nothing is opened for it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.api.conftest import Server, start_server
from tests.web.conftest import Web, browser_client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No makers and no feed: the sign-up and the Account page need neither."""
    srv = start_server(tmp_path_factory.mktemp("web-signup-region"), "--no-makers", "--feed", "manual")
    yield srv
    srv.stop()


def open_page(web: Web) -> None:
    web.page.goto(web.url + "/")
    web.page.wait_for_selector("body[data-ready='1']")


def test_the_region_list_is_the_rules(web: Web, server: Server) -> None:
    listed = httpx.get(server.url + "/api/v1/compliance/regions").json()
    named = {r["region"] for r in listed["regions"]}
    assert {"JP", "DE", "AE", "GB"} <= named and {"KP", "US", "UA-43"} <= {r["region"] for r in listed["refused"]}
    jp = next(r for r in listed["regions"] if r["region"] == "JP")
    assert jp["entity"] == "jp" and jp["maxLeverage"] == "2" and "perps" in jp["products"]
    open_page(web)
    options = web.page.eval_on_selector_all("#signup-region option", "os => os.map(o => o.value)")
    assert options[0] == "" and options[-1] == "other"  # not declared (as before), ..., other
    assert set(options[1:-1]) == named | {r["region"] for r in listed["refused"]}
    expect(web.page.locator("#signup-region option[value='JP']")).to_have_text(re.compile(r"Japan \(JP\)"))


def test_a_japanese_resident_sees_perps_open_at_2x(web: Web) -> None:
    open_page(web)
    page = web.page
    page.select_option("#signup-region", "JP")
    page.click("#start-trading")
    expect(page.locator("body")).to_have_class(re.compile("signed-in"))
    expect(page.locator("#session-msg")).to_contain_text("as a resident of Japan (JP)")
    expect(page.locator("#signup-region")).to_be_hidden()
    page.click("#nav button[data-page='account']")
    expect(page.locator("#cp-region")).to_have_text("Japan (JP)")
    expect(page.locator("#cp-entity")).to_contain_text("Backpack Japan")
    expect(page.locator("#cp-level")).to_have_text("full")
    expect(page.locator("#cp-leverage")).to_have_text("2×")
    perps = page.locator("#compliance-products tr[data-product='perps']")
    expect(perps).to_have_attribute("data-open", "true")
    expect(perps).to_contain_text("residents of JP")
    expect(page.locator("#compliance-products tbody tr[data-open='true']")).to_have_count(4)
    expect(page.locator("#lev-current")).to_have_text(re.compile(r"^2"))
    web.shot("40-account-compliance-jp")
    client = browser_client(web)  # what the page shows is what the exchange holds
    profile = client.request("GET", "/api/v1/account/compliance", "accountComplianceQuery").json()
    assert profile["region"] == "JP" and profile["maxLeverage"] == "2"
    assert client.request("GET", "/api/v1/account", "accountQuery").json()["leverageLimit"] == "2"


def test_a_refused_region_is_refused_on_the_page(web: Web, server: Server) -> None:
    open_page(web)
    page = web.page
    page.select_option("#signup-region", "KP")
    web.console.expect("status of 403")  # Chromium logs the refused request
    page.click("#start-trading")
    expect(page.locator("#session-msg")).to_have_text(
        "Residents of North Korea (KP) cannot sign up here: the exchange's rules refuse that region "
        "(Residents of this region cannot be served; FORBIDDEN)."
    )
    expect(page.locator("body")).not_to_have_class(re.compile("signed-in"))
    assert page.evaluate("localStorage.getItem('rucksack.session')") is None
    web.shot("41-signup-refused-region", full_page=False)
    # "other" takes a code the rules do not name: the default rule serves it
    page.select_option("#signup-region", "other")
    expect(page.locator("#signup-region-other")).to_be_visible()
    page.fill("#signup-region-other", "br")
    page.click("#start-trading")
    expect(page.locator("#session-msg")).to_contain_text("as a resident of Brazil (BR)")
    assert (
        browser_client(web).request("GET", "/api/v1/account/compliance", "accountComplianceQuery").json()["region"]
        == "BR"
    )


def test_the_region_choice_fits_a_phone(phone: Web) -> None:
    open_page(phone)
    page = phone.page
    page.select_option("#signup-region", "other")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for control in ("#signup-region", "#signup-region-other", "#start-trading"):
        box = page.locator(control).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (control, box)
    phone.shot("phone-signup-region", full_page=False)
