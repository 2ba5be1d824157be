"""The chain of commitments' checks (rucksack.reserves.chain): RFC 6962 trees and audit paths, and each
tampering the issue names -- a tampered record, a reordered segment, a dropped fill, a rewritten fill."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from nacl.signing import SigningKey

from rucksack.reserves.chain import (
    GENESIS,
    VERSION,
    check_chain,
    check_fills,
    check_inclusion,
    inclusion_path,
    leaf_hash,
    merkle_root,
    node_hash,
    record_hash,
    root_from_path,
    signed_message,
)

KEY = SigningKey(bytes(range(32)))


def rfc6962(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 as written: the recursive split at the largest power of two below n."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(rfc6962(leaves[:k]), rfc6962(leaves[k:]))


def test_root_and_paths_are_rfc6962() -> None:
    for n in range(0, 34):
        leaves = [leaf_hash({"i": i}) for i in range(n)]
        root = rfc6962(leaves)
        assert merkle_root(leaves) == root
        for i in range(n):
            path = inclusion_path(leaves, i)
            assert len(path) <= max(1, (n - 1).bit_length())
            assert root_from_path(leaves[i], i, n, path) == root
            if n > 1:  # the same path at another index, or for another leaf, does not reach the root
                assert root_from_path(leaves[i], (i + 1) % n, n, path) != root
                assert root_from_path(leaf_hash({"i": -1}), i, n, path) != root
    # a leaf is never confused with a node (the 0x00 / 0x01 prefixes)
    a, b = leaf_hash({"a": 1}), leaf_hash({"b": 2})
    assert hashlib.sha256(b"\x00" + a + b).digest() != node_hash(a, b)


def _fill(seq: int, trade: int, price: str = "150.1", account: int = 7) -> dict[str, Any]:
    return {
        "kind": "fill",
        "seq": seq,
        "account": account,
        "tradeId": trade,
        "orderId": str(100 + trade),
        "symbol": "SOL_USDC",
        "side": "Bid",
        "price": price,
        "quantity": "1.5",
        "isMaker": False,
    }


def _segment(first: int, last: int) -> list[dict[str, Any]]:
    leaves: list[dict[str, Any]] = []
    for seq in range(first, last + 1):
        leaves.append({"kind": "command", "seq": seq, "ts_us": seq, "sha256": "ab" * 32})
        if seq % 3 == 0:
            leaves.append(_fill(seq, seq))
            leaves.append(_fill(seq, seq, account=8) | {"side": "Ask", "isMaker": True})
    return leaves


def _record(seq: int, first: int, leaves: list[dict[str, Any]], prev: dict[str, Any] | None) -> dict[str, Any]:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    record: dict[str, Any] = {
        "version": VERSION,
        "seq": seq,
        "ts_us": 1_700_000_000_000_000 + seq * 1_000_000,
        "state_hash": hashlib.sha256(str(seq).encode()).hexdigest(),
        "segment": {"first": first, "last": seq, "size": len(hashes), "root": merkle_root(hashes).hex()},
        "prev_hash": record_hash(prev) if prev else GENESIS,
        "liabilities_root": None,
        "public_key": KEY.verify_key.encode().hex(),
    }
    record["signature"] = KEY.sign(signed_message(record)).signature.hex()
    return record


def _resign(record: dict[str, Any], key: SigningKey = KEY) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k != "signature"}
    out["public_key"] = key.verify_key.encode().hex()
    out["signature"] = key.sign(signed_message(out)).signature.hex()
    return out


@pytest.fixture()
def world() -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    segments = [_segment(1, 10), _segment(11, 20), _segment(21, 33)]
    records: list[dict[str, Any]] = []
    for seg in segments:
        records.append(_record(seg[-1]["seq"], seg[0]["seq"], seg, records[-1] if records else None))
    return records, segments


def _proofs(records: list[dict[str, Any]], segments: list[list[dict[str, Any]]], account: int) -> list[dict[str, Any]]:
    out = []
    for record, seg in zip(records, segments, strict=True):
        hashes = [leaf_hash(leaf) for leaf in seg]
        for i, leaf in enumerate(seg):
            if leaf.get("account") == account:
                out.append(
                    {"checkpoint": record["seq"], "leaf": leaf, "index": i, "size": len(seg),
                     "path": [h.hex() for h in inclusion_path(hashes, i)]}
                )  # fmt: skip
    return out


def _served_fills(segments: list[list[dict[str, Any]]], account: int) -> list[dict[str, Any]]:
    """The account's fills as Backpack's fill history shows them."""
    return [
        {k: v for k, v in leaf.items() if k not in ("kind", "seq", "account")}
        | {"timestamp": "2023-11-14T22:13:21.000"}
        for seg in segments
        for leaf in seg
        if leaf["kind"] == "fill" and leaf["account"] == account
    ]


def test_an_honest_chain_passes(world: Any) -> None:
    records, segments = world
    assert check_chain(records) == []
    assert check_chain(records, KEY.verify_key.encode().hex()) == []
    report = check_fills(records, _proofs(records, segments, 7), _served_fills(segments, 7), 7)
    assert report["ok"], report
    assert report["fillsChecked"] == report["provenFills"] == 11


def test_a_tampered_record_is_detected(world: Any) -> None:
    records, _ = world
    changed = [dict(r) for r in records]
    changed[1]["state_hash"] = "00" * 32  # edited after signing
    assert any("signature does not match" in p for p in check_chain(changed))
    resigned = [records[0], _resign(changed[1]), records[2]]  # re-signed by the same key: the next link breaks
    assert any("prev_hash does not match" in p for p in check_chain(resigned))
    other = [_resign(r, SigningKey(bytes(32))) for r in records]  # a whole chain under another key
    assert check_chain(other) != [] and check_chain(other, KEY.verify_key.encode().hex()) != []
    assert any("seq does not increase" in p for p in check_chain([records[0], records[2], records[1]]))
    assert any("prev_hash" in p for p in check_chain([records[0], records[2]]))  # a record dropped


def test_a_reordered_segment_is_detected(world: Any) -> None:
    records, segments = world
    seg = list(segments[1])
    seg[0], seg[1] = seg[1], seg[0]  # two of the segment's records swapped
    assert merkle_root([leaf_hash(leaf) for leaf in seg]).hex() != records[1]["segment"]["root"]
    # a proof built from the reordered segment does not reach the signed root
    hashes = [leaf_hash(leaf) for leaf in seg]
    proof = {"checkpoint": records[1]["seq"], "leaf": seg[1], "index": 1, "size": len(seg),
             "path": [h.hex() for h in inclusion_path(hashes, 1)]}  # fmt: skip
    assert check_inclusion(proof, records[1]) == "the path does not lead to the record's segment root"


def test_a_dropped_fill_is_detected(world: Any) -> None:
    records, segments = world
    proofs = _proofs(records, segments, 7)
    fills = _served_fills(segments, 7)
    gone = [p for p in proofs if p["leaf"].get("tradeId") != 15]  # the exchange withholds one proof
    report = check_fills(records, gone, fills, 7)
    assert not report["ok"] and report["dropped"] == [15]
    # a fill that is not yet under a checkpoint is pending, not dropped
    late = fills[0] | {"tradeId": 99, "timestamp": "2099-01-01T00:00:00.000"}
    assert check_fills(records, proofs, [*fills, late], 7)["pending"] == [99]


def test_a_rewritten_fill_is_detected(world: Any) -> None:
    records, segments = world
    proofs = _proofs(records, segments, 7)
    fills = _served_fills(segments, 7)
    served = [f | {"price": "149.9"} if f["tradeId"] == 6 else f for f in fills]  # history rewritten after the fact
    report = check_fills(records, proofs, served, 7)
    assert not report["ok"] and report["rewritten"] == [{"tradeId": 6, "fields": ["price"]}]
    # rewriting the proven leaf too breaks its path to the signed root
    forged = [p | {"leaf": p["leaf"] | {"price": "149.9"}} if p["leaf"].get("tradeId") == 6 else p for p in proofs]
    report = check_fills(records, forged, served, 7)
    assert not report["ok"] and any("does not lead to the record's segment root" in p for p in report["problems"])
    # another account's proof is not mine
    theirs = _proofs(records, segments, 8)
    assert any("belongs to account 8" in p for p in check_fills(records, theirs, [], 7)["problems"])
