"""Small liabilities snapshots, a fixed signing key and a built publication for the reserves tests."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest
from nacl.signing import SigningKey

from rucksack.reserves.build import Publication, build_from_liabilities
from rucksack.reserves.liabilities import AssetInfo, CustodyHolding, LiabilityRow, LiabilitySnapshot

SECRET = bytes(range(32))
KEY = SigningKey(bytes(32))  # a fixed, public test key: never use outside tests
ASSETS = [AssetInfo("USDC", 6, "1", "1"), AssetInfo("SOL", 9, "142.5", "0.9")]


def snapshot(
    rows: list[tuple[int, list[int], list[int]]],
    *,
    assets: list[AssetInfo] | None = None,
    custody: list[CustodyHolding] | None = None,
    seq: int = 42,
    ts_us: int = 1_760_000_000_000_000,
) -> LiabilitySnapshot:
    return LiabilitySnapshot(
        seq=seq,
        ts_us=ts_us,
        assets=assets or ASSETS,
        rows=[LiabilityRow(a, e, d) for a, e, d in rows],
        custody=custody or [],
    )


ROWS = [
    (1001, [5_000_000, 2_000_000_000], [0, 0]),
    (1002, [250_000_000, 1_000_000_000], [0, 500_000_000]),
    (1003, [7, 0], [0, 0]),
    (1004, [7, 0], [0, 0]),  # same balances as 1003 on purpose
    (1005, [0, 0], [1_000_000, 0]),
]
CUSTODY = [CustodyHolding("USDC", 300_000_000, "custody:USDC"), CustodyHolding("SOL", 2_500_000_000, "custody:SOL")]


def docs(pub: Publication, account: int | None = None) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
    """Fresh, mutable JSON-shaped copies of (snapshot, proof of ``account``, reserves)."""
    proof = None if account is None else msgspec.to_builtins(pub.proofs[account])
    reserves = msgspec.to_builtins(pub.reserves) if pub.reserves is not None else {}
    return copy.deepcopy(msgspec.to_builtins(pub.snapshot)), proof, reserves


@pytest.fixture(scope="session")
def pub() -> Publication:
    return build_from_liabilities(snapshot(ROWS, custody=CUSTODY), SECRET, KEY)
