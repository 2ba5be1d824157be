"""A malformed zk inclusion proof is a failed ``zk.inclusion`` check, never a crash (no Node needed)."""

from __future__ import annotations

from typing import Any

import pytest

from rucksack.reserves.commitments import VERSION
from rucksack.reserves.zk import statement as st
from rucksack.reserves.zk.verify import _check_inclusion


@pytest.mark.parametrize("salt", [None, 7, "AB" * 32, "ab"])
def test_missing_or_malformed_salt_fails_the_check(salt: Any) -> None:
    doc: dict[str, Any] = {
        "version": VERSION,
        "snapshot_id": bytes(16).hex(),
        "seq": 1,
        "account": 5,
        "batch": 0,
        "position": 0,
        "assets": ["USDC"],
        "equity": ["1"],
        "debt": ["0"],
        "siblings": ["0"] * 3,
    }
    if salt is not None:
        doc["salt"] = salt
    checks: list[tuple[str, str, str]] = []

    def add(name: str, status: str, detail: str) -> bool:
        checks.append((name, status, detail))
        return status != "fail"

    shape = st.Shape(3, 1)
    assert _check_inclusion(add, doc, bytes(16), 1, ["USDC"], 5, [[0] * shape.n_public], shape) is None
    assert [(name, status) for name, status, _ in checks] == [("zk.inclusion", "fail")]
    assert "malformed zk proof" in checks[0][2]
