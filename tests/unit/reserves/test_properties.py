"""Random liabilities: every account's proof verifies, and the totals are the column sums."""

from __future__ import annotations

import copy
import os
from typing import Any

import msgspec
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rucksack.reserves.build import build_from_liabilities
from rucksack.reserves.liabilities import AssetInfo
from rucksack.reserves.verify import verify
from tests.unit.reserves.conftest import KEY, ROWS, snapshot

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


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 130), 1 << 130) | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _slots(doc: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a JSON document (dict keys and list indices), depth first."""
    out = [where]
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for key, value in items:
        out += _slots(value, (*where, key))
    return out


def _replace(doc: Any, where: tuple[Any, ...], value: Any) -> Any:
    if not where:
        return value
    doc = copy.deepcopy(doc)
    target = doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    return doc


@settings(max_examples=int(os.environ.get("RESERVES_MUTATIONS", "300")), deadline=None)
@given(st.data(), st.booleans())
def test_any_change_to_proof_or_snapshot_fails_and_never_crashes(data: st.DataObject, in_proof: bool) -> None:
    pub = _MUTATION_PUB
    snap = msgspec.to_builtins(pub.snapshot)
    proof = msgspec.to_builtins(pub.proofs[1002])
    target = proof if in_proof else snap
    where = data.draw(st.sampled_from(_slots(target)))
    mutated = _replace(target, where, data.draw(JSON_VALUES))
    assume(not (in_proof and mutated is None))  # verify(snapshot, None) means "no proof given"
    report = verify(snap, mutated) if in_proof else verify(mutated, proof)
    if mutated != target or type(mutated) is not type(target):
        assert not report.ok, (where, mutated)
    else:
        assert report.ok


_MUTATION_PUB = build_from_liabilities(snapshot(ROWS), b"m" * 32, KEY)
