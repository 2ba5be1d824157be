"""POST /api/v1/sandbox/signup: the browser's "start trading" (a public key in, a fixed grant, no token)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import nacl.signing
import pytest

from rucksack.exchange.api.routes.sandbox import SIGNUP_FUND
from tests.api.conftest import Creds, Server, Signed, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quiet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("signup"), "--no-makers", "--feed", "manual")
    yield srv
    srv.stop()


def new_key() -> tuple[str, str]:
    key = nacl.signing.SigningKey.generate()
    return base64.b64encode(bytes(key.verify_key)).decode(), base64.b64encode(bytes(key)).decode()


def test_signup_funds_a_browser_key_without_the_admin_token(quiet_server: Server) -> None:
    public, secret = new_key()
    response = httpx.post(quiet_server.url + "/api/v1/sandbox/signup", json={"publicKey": public, "label": "web"})
    assert response.status_code == 200, response.text
    account = response.json()["accountId"]
    client = Signed(quiet_server.url, Creds(public, secret, account))
    capital = client.request("GET", "/api/v1/capital", "balanceQuery").json()
    assert {k: v["available"] for k, v in capital.items()} == SIGNUP_FUND

    again = httpx.post(quiet_server.url + "/api/v1/sandbox/signup", json={"publicKey": public})
    assert again.status_code == 400 and "already registered" in again.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"publicKey": "x"},
        {"publicKey": base64.b64encode(b"\1" * 31).decode()},
        {"publicKey": new_key()[0], "fund": {"USDC": "1000000000"}},  # the grant is not the caller's to pick
        ["publicKey"],
        {},
    ],
)
def test_signup_refuses_bad_bodies(quiet_server: Server, body: object) -> None:
    response = httpx.post(quiet_server.url + "/api/v1/sandbox/signup", json=body)
    assert response.status_code == 400 and response.json()["code"] == "INVALID_CLIENT_REQUEST", response.text


def test_signup_is_off_in_production(tmp_path: Path) -> None:
    srv = start_server(tmp_path, "--no-makers", "--feed", "manual", "--production")
    try:
        response = httpx.post(srv.url + "/api/v1/sandbox/signup", json={"publicKey": new_key()[0]})
        # production has no sandbox endpoints: they answer as any unknown route does
        assert response.status_code == 404 and response.json()["code"] == "RESOURCE_NOT_FOUND"
    finally:
        srv.stop()


def test_static_front_end_is_served(quiet_server: Server) -> None:
    index = httpx.get(quiet_server.url + "/")
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    assert "/assets/app.js" in index.text
    for path in ("/assets/app.js", "/assets/api.js", "/assets/dom.js", "/assets/style.css", "/vendor/noble-ed25519.js"):
        assert httpx.get(quiet_server.url + path).status_code == 200, path
    missing = httpx.get(quiet_server.url + "/assets/nope.js")
    assert missing.status_code == 404
    assert httpx.get(quiet_server.url + "/api/v1/nothing").json()["code"] == "RESOURCE_NOT_FOUND"
