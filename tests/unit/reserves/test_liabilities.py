"""The liabilities input: unsigned u64 atoms, one equity and one debt per asset, unique ids."""

from __future__ import annotations

import pytest

from rucksack.reserves.liabilities import (
    AssetInfo,
    CustodyHolding,
    LiabilityError,
    check_snapshot,
    decode_snapshot,
    encode_snapshot,
)
from tests.unit.reserves.conftest import CUSTODY, ROWS, snapshot


def test_round_trip_json() -> None:
    snap = snapshot(ROWS, custody=CUSTODY)
    assert decode_snapshot(encode_snapshot(snap)) == snap


@pytest.mark.parametrize(
    "rows",
    [
        [(1, [-1, 0], [0, 0])],  # negative equity
        [(1, [0, 0], [0, -5])],  # negative debt
        [(1, [1 << 64, 0], [0, 0])],  # oversized
        [(1, [0], [0])],  # missing a column
        [(1, [0, 0], [0, 0]), (1, [0, 0], [0, 0])],  # duplicate account
        [(-3, [0, 0], [0, 0])],
    ],
)
def test_bad_rows_are_refused(rows: list[tuple[int, list[int], list[int]]]) -> None:
    with pytest.raises(LiabilityError):
        check_snapshot(snapshot(rows))


def test_bad_assets_and_custody_are_refused() -> None:
    with pytest.raises(LiabilityError):
        check_snapshot(snapshot([], assets=[AssetInfo("A", 6), AssetInfo("A", 6)]))
    with pytest.raises(LiabilityError):
        check_snapshot(snapshot([], assets=[AssetInfo("A", 6, price="1e3")]))
    with pytest.raises(LiabilityError):
        check_snapshot(snapshot([], custody=[CustodyHolding("BTC", 1)]))


@pytest.mark.parametrize("amount", [b"1.0", b"1e3", b'"12"', b"true"])
def test_json_amounts_must_be_exact_integers(amount: bytes) -> None:
    data = (
        b'{"seq":1,"ts_us":1,"assets":[{"symbol":"A","decimals":0}],"rows":[{"account":1,"equity":['
        + amount
        + b'],"debt":[0]}]}'
    )
    with pytest.raises(LiabilityError):
        decode_snapshot(data)
