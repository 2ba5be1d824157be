"""One setting for the command line (``rucksack.endpoints``): with ``RUCKSACK_URL`` exported, the
sandbox and wallet-exchange commands reach a server on another port without any ``--url``, from
any folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("moved"), "--no-makers", "--feed", "manual")
    yield srv
    srv.stop()


def test_rucksack_url_reaches_the_server_without_flags(moved: Server, tmp_path: Path) -> None:
    env = {**os.environ, "RUCKSACK_URL": moved.url}
    out = subprocess.run(
        [sys.executable, "-m", "rucksack", "sandbox", "account", "--data-dir", str(moved.data_dir), "--fund=USDC=5"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,  # not the checkout: nothing is found by the current folder
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["accountId"] > 0
    helped = subprocess.run(
        [sys.executable, "-m", "rucksack", "wallet", "exchange-balance", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert helped.returncode == 0 and moved.url in helped.stdout.replace("\n", "")
