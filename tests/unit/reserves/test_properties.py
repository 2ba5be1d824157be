"""Random liabilities: every account's proof verifies, and the totals are the column sums."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from rucksack.reserves.build import build_from_liabilities
from rucksack.reserves.liabilities import AssetInfo
from rucksack.reserves.verify import verify
from tests.unit.reserves.conftest import KEY, snapshot

U64 = st.integers(0, (1 << 64) - 1)
SMALL = st.integers(0, 10**12)


@st.composite
def liabilities(draw: st.DrawFn) -> tuple[int, list[tuple[int, list[int], list[int]]]]:
    k = draw(st.integers(1, 3))
    accounts = draw(st.lists(st.integers(0, (1 << 64) - 1), min_size=1, max_size=24, unique=True))
    amount = st.one_of(SMALL, U64)
    rows = [
        (a, draw(st.lists(amount, min_size=k, max_size=k)), draw(st.lists(amount, min_size=k, max_size=k)))
        for a in accounts
    ]
    return k, rows


@settings(max_examples=40, deadline=None)
@given(liabilities(), st.binary(min_size=16, max_size=32), st.integers(0, 6))
def test_every_proof_verifies_and_totals_are_sums(
    data: tuple[int, list[tuple[int, list[int], list[int]]]], secret: bytes, min_depth: int
) -> None:
    k, rows = data
    snap = snapshot(rows, assets=[AssetInfo(f"A{i}", 6) for i in range(k)])
    pub = build_from_liabilities(snap, secret, KEY, min_depth=min_depth)
    public = msgspec.to_builtins(pub.snapshot)
    for i in range(k):
        assert int(public["assets"][i]["total_equity"]) == sum(r[1][i] for r in rows)
        assert int(public["assets"][i]["total_debt"]) == sum(r[2][i] for r in rows)
    assert pub.tree.depth >= max(1, min_depth) and 1 << pub.tree.depth >= len(rows)
    indices = set()
    for account, _, _ in rows:
        report = verify(public, msgspec.to_builtins(pub.proofs[account]), account=account)
        assert report.ok, [c for c in report.checks if c.status == "fail"]
        indices.add(pub.proofs[account].index)
    assert len(indices) == len(rows)
