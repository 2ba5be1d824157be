"""The OpenAPI document covers every route, and schemathesis finds no 5xx or undocumented answer."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import nacl.signing
import pytest

from rucksack.exchange.api import app, openapi
from rucksack.exchange.service import admin_token_path
from tests.api.conftest import Server, start_server

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_document_covers_every_route(server: Server) -> None:
    served = set(app.PUBLIC) | set(app.PRIVATE) | set(app.ADMIN) | set(app.OPERATOR)
    served |= {("GET", "/api/v1/ping"), ("GET", "/api/v1/time")}
    assert served == set(openapi.OPERATIONS)
    doc = httpx.get(server.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.1") and "/api/v1/order" in doc["paths"]
    symbol = doc["paths"]["/api/v1/depth"]["get"]["parameters"][0]["schema"]
    assert "SOL_USDC" in symbol["enum"]


def schemathesis_run(server: Server, max_examples: int, env: dict[str, str] | None = None) -> str:
    """``st run`` over every operation (fixed seed, bounded examples); its output, once it passed."""
    st = Path(sys.executable).with_name("st")
    out = subprocess.run(
        [
            str(st),
            "run",
            server.url + "/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            str(max_examples),
            "--seed",
            "1",
            "--workers",
            "1",
            "--phases",
            "coverage,fuzzing",
            "--generation-database",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode == 0, out.stdout[-6000:]
    return out.stdout


def test_schemathesis_finds_nothing(server: Server) -> None:
    stdout = schemathesis_run(server, 20)
    counts = re.search(r"(\d+) generated, (\d+) passed", stdout)
    assert counts and counts.group(1) == counts.group(2) and int(counts.group(1)) > 500, stdout[-2000:]


def test_schemathesis_with_signed_requests_finds_nothing(tmp_path: Path) -> None:
    """Every private request signed by a funded sandbox account, every sandbox request with the admin
    token (tests/api/signing_hooks.py), so the fuzzer reaches the handlers: no 5xx, nothing undocumented."""
    srv = start_server(tmp_path / "signed", "--no-makers", "--feed", "manual")
    try:
        key = nacl.signing.SigningKey.generate()
        api_key = base64.b64encode(bytes(key.verify_key)).decode()
        made = httpx.post(srv.url + "/api/v1/sandbox/signup", json={"publicKey": api_key})
        assert made.status_code == 200, made.text
        env = {
            "SCHEMATHESIS_HOOKS": "tests.api.signing_hooks",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "RUCKSACK_FUZZ_API_KEY": api_key,
            "RUCKSACK_FUZZ_SECRET": base64.b64encode(bytes(key)).decode(),
            "RUCKSACK_FUZZ_ACCOUNT": str(made.json()["accountId"]),
            "RUCKSACK_FUZZ_ADMIN_TOKEN": admin_token_path(srv.data_dir).read_text().strip(),
        }
        schemathesis_run(srv, 20, {**env, "RUCKSACK_FUZZ_LOG": str(tmp_path / "answers.txt")})
        assert httpx.get(srv.url + "/api/v1/status").json()["status"] == "Ok"
    finally:
        srv.stop()
    answers: dict[tuple[str, str], set[int]] = {}
    for line in (tmp_path / "answers.txt").read_text().splitlines():
        method, path, status = line.split()
        answers.setdefault((method, path), set()).add(int(status))
    assert all(status < 500 for statuses in answers.values() for status in statuses), answers
    # the signatures held: every private and sandbox route answered something besides 401
    unreached = [op for op in (*app.PRIVATE, *app.ADMIN) if not answers.get(op, set()) - {401}]
    assert unreached == [], answers
