"""The OpenAPI document covers every route, and schemathesis finds no 5xx or undocumented answer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rucksack.exchange.api import app, openapi
from tests.api.conftest import Server

pytestmark = pytest.mark.slow


def test_document_covers_every_route(server: Server) -> None:
    served = set(app.PUBLIC) | set(app.PRIVATE) | set(app.ADMIN) | {("GET", "/api/v1/ping"), ("GET", "/api/v1/time")}
    assert served == set(openapi.OPERATIONS)
    doc = httpx.get(server.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.1") and "/api/v1/order" in doc["paths"]
    symbol = doc["paths"]["/api/v1/depth"]["get"]["parameters"][0]["schema"]
    assert "SOL_USDC" in symbol["enum"]


def test_schemathesis_finds_nothing(server: Server) -> None:
    st = Path(sys.executable).with_name("st")
    out = subprocess.run(
        [
            str(st),
            "run",
            server.url + "/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            "20",
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
    )
    assert out.returncode == 0, out.stdout[-4000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", out.stdout)
    assert counts and counts.group(1) == counts.group(2) and int(counts.group(1)) > 500, out.stdout[-2000:]
