"""The verifier accepts honest publications and rejects every tampered variant (spec §2.1 attacks)."""

from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from rucksack.reserves import commitments as c
from rucksack.reserves.build import Publication, build_from_liabilities
from rucksack.reserves.signing import sign_document
from rucksack.reserves.verify import FAIL, Report, verify
from tests.unit.reserves.conftest import CUSTODY, KEY, ROWS, docs, snapshot

PINNED = KEY.verify_key.encode().hex()


def failed(report: Report) -> set[str]:
    return {ch.name for ch in report.checks if ch.status == FAIL}


def resign(doc: dict[str, Any], kind: str = "snapshot", key: SigningKey = KEY) -> dict[str, Any]:
    return sign_document(kind, doc, key)


# -- honest ---------------------------------------------------------------------------------------


def test_every_honest_proof_verifies(pub: Publication) -> None:
    for account in pub.proofs:
        snap, proof, reserves = docs(pub, account)
        report = verify(snap, proof, reserves, account=account, public_key=PINNED)
        assert report.ok, report.checks
        assert report.account is not None and report.account["account"] == account
    assert [s.ok for s in report.solvency] == [True, True]


def test_unpinned_key_is_a_warning_not_a_failure(pub: Publication) -> None:
    snap, proof, _ = docs(pub, 1001)
    report = verify(snap, proof)
    assert report.ok and any(ch.status == "warn" and ch.name == "snapshot.public_key" for ch in report.checks)


# -- tampered leaf, path, position ------------------------------------------------------------------


def test_changed_balance_in_leaf(pub: Publication) -> None:
    snap, proof, _ = docs(pub, 1002)
    assert proof is not None
    proof["equity"][0] = str(int(proof["equity"][0]) + 1)
    assert "proof.root" in failed(verify(snap, proof))
    snap, proof, _ = docs(pub, 1002)
    assert proof is not None
    proof["debt"][1] = "0"  # hide a debt
    assert "proof.root" in failed(verify(snap, proof))


def test_changed_sibling_sum(pub: Publication) -> None:
    for level in range(pub.tree.depth):
        snap, proof, _ = docs(pub, 1001)
        assert proof is not None
        proof["path"][level]["equity"][1] = str(int(proof["path"][level]["equity"][1]) + 1)
        assert "proof.root" in failed(verify(snap, proof)), level


def test_changed_sibling_hash(pub: Publication) -> None:
    snap, proof, _ = docs(pub, 1001)
    assert proof is not None
    proof["path"][0]["hash"] = hashlib.sha256(b"other").hexdigest()
    assert "proof.root" in failed(verify(snap, proof))


@pytest.mark.parametrize(
    "value",
    ["-5", str((1 << 128) - 5), str(1 << 64), "+5", "05", " 5", "5.0", 5, None],
)
def test_negative_or_overflowing_sibling_sum(pub: Publication, value: Any) -> None:
    # level 0 siblings are single leaves: anything >= 2**64 (e.g. -5 as a two's complement u128) is refused
    snap, proof, _ = docs(pub, 1001)
    assert proof is not None
    proof["path"][0]["debt"][0] = value
    assert failed(verify(snap, proof)) == {"proof.format"}


def test_sibling_sum_range_grows_with_the_level(pub: Publication) -> None:
    top = pub.tree.depth - 1
    snap, proof, _ = docs(pub, 1001)
    assert proof is not None
    proof["path"][top]["equity"][0] = str(c.sums_limit(top))
    assert failed(verify(snap, proof)) == {"proof.format"}
    proof["path"][top]["equity"][0] = str(c.sums_limit(top) - 1)  # in range, merely wrong
    assert "proof.root" in failed(verify(snap, proof))


def test_leaf_value_out_of_range(pub: Publication) -> None:
    snap, proof, _ = docs(pub, 1001)
    assert proof is not None
    proof["equity"][0] = str(1 << 64)
    assert failed(verify(snap, proof)) == {"proof.format"}


def test_swapped_sibling_order_and_moved_leaf(pub: Publication) -> None:
    for flip in range(pub.tree.depth):
        snap, proof, _ = docs(pub, 1003)
        assert proof is not None
        proof["index"] ^= 1 << flip  # the leaf claims another position: left/right swapped at `flip`
        assert "proof.root" in failed(verify(snap, proof))


def test_path_of_the_wrong_length(pub: Publication) -> None:
    snap, proof, _ = docs(pub, 1003)
    assert proof is not None
    proof["path"] = proof["path"][:-1]  # stop below the root (a subtree posing as the tree)
    assert "proof.path" in failed(verify(snap, proof))
    snap, proof, _ = docs(pub, 1003)
    assert proof is not None
    proof["index"] = 1 << pub.tree.depth
    assert "proof.path" in failed(verify(snap, proof))


# -- wrong user -------------------------------------------------------------------------------------


def test_proof_for_another_user(pub: Publication) -> None:
    snap, proof, _ = docs(pub, 1004)
    assert "proof.account" in failed(verify(snap, proof, account=1003))


def test_two_users_cannot_share_one_leaf(pub: Publication) -> None:
    # 1003 and 1004 hold identical balances; handing 1003 the leaf of 1004 relabelled fails
    snap, proof, _ = docs(pub, 1004)
    assert proof is not None
    proof["account"] = 1003
    assert "proof.root" in failed(verify(snap, proof, account=1003))
    snap, proof, _ = docs(pub, 1004)
    assert proof is not None
    proof["account"], proof["salt"] = 1003, pub.proofs[1003].salt
    assert "proof.root" in failed(verify(snap, proof, account=1003))


def test_proof_from_another_snapshot(pub: Publication) -> None:
    other = build_from_liabilities(snapshot(ROWS), b"x" * 32, KEY)
    snap, _, _ = docs(pub)
    _, proof, _ = docs(other, 1001)
    assert "proof.snapshot" in failed(verify(snap, proof))


# -- snapshot signature, root, totals -------------------------------------------------------------


def test_wrong_root(pub: Publication) -> None:
    snap, proof, _ = docs(pub, 1001)
    snap["root"] = hashlib.sha256(b"x").hexdigest()
    assert failed(verify(snap, proof)) == {"snapshot.signature", "proof.root"}
    assert failed(verify(resign(snap), proof)) == {"proof.root"}  # even when signed


def test_wrong_totals(pub: Publication) -> None:
    snap, proof, _ = docs(pub, 1001)
    snap["assets"][0]["total_equity"] = str(int(snap["assets"][0]["total_equity"]) - 1)
    assert failed(verify(resign(snap), proof)) == {"proof.totals"}


def test_wrong_signature(pub: Publication) -> None:
    snap, proof, _ = docs(pub, 1001)
    sig = bytearray(bytes.fromhex(snap["signature"]))
    sig[0] ^= 1
    snap["signature"] = sig.hex()
    assert failed(verify(snap, proof)) == {"snapshot.signature"}


def test_signed_by_another_key(pub: Publication) -> None:
    snap, proof, _ = docs(pub, 1001)
    forged = resign(snap, key=SigningKey(b"\x01" * 32))
    assert verify(forged, proof).ok  # self-consistent ...
    assert failed(verify(forged, proof, public_key=PINNED)) == {"snapshot.public_key"}  # ... but not the pinned key


def test_signature_does_not_transfer_between_kinds(pub: Publication) -> None:
    snap, _, _ = docs(pub)
    as_reserves = resign(snap, kind="reserves")
    assert "snapshot.signature" in failed(verify(as_reserves))


def test_malformed_snapshot() -> None:
    assert failed(verify({"version": "rucksack-por-v1"})) == {"snapshot.format"}
    assert failed(verify([])) == {"snapshot.format"}


# -- reserves -------------------------------------------------------------------------------------


def test_reserves_shortfall_is_reported_per_asset() -> None:
    short = [CUSTODY[0], CUSTODY[1].__class__("SOL", 2_499_999_999)]
    pub = build_from_liabilities(snapshot(ROWS, custody=short), b"r" * 32, KEY)
    snap, _, reserves = docs(pub)
    report = verify(snap, None, reserves)
    assert failed(report) == {"reserves.SOL"}
    assert [(s.asset, s.ok) for s in report.solvency] == [("USDC", True), ("SOL", False)]


def test_reserves_net_of_debt() -> None:
    # SOL: equity 3.0, debt 0.5 -> 2.5 needed; exactly 2.5 held is enough
    pub = build_from_liabilities(snapshot(ROWS, custody=CUSTODY), b"r" * 32, KEY)
    snap, _, reserves = docs(pub)
    assert verify(snap, None, reserves).ok


def test_reserves_tampered_or_for_another_snapshot(pub: Publication) -> None:
    snap, _, reserves = docs(pub)
    reserves["holdings"][1]["balance"] = "9999999999999"
    assert failed(verify(snap, None, reserves)) == {"reserves.signature"}
    other = build_from_liabilities(snapshot(ROWS, custody=CUSTODY), b"o" * 32, KEY)
    _, _, reserves = docs(other)
    assert "reserves.snapshot" in failed(verify(snap, None, reserves))
    _, _, reserves = docs(pub)
    assert failed(verify(snap, None, resign(reserves, "reserves", SigningKey(b"\x02" * 32)))) == {"reserves.key"}


def test_reserves_with_another_challenge(pub: Publication) -> None:
    snap, _, reserves = docs(pub)
    reserves["challenge"] = "I am an exchange address"
    assert failed(verify(snap, None, resign(reserves, "reserves"))) == {"reserves.snapshot"}


def test_reserves_from_the_ledger_are_flagged(pub: Publication) -> None:
    snap, _, reserves = docs(pub)
    report = verify(snap, None, reserves)
    assert any(ch.status == "warn" and "not on-chain" in ch.detail for ch in report.checks)


# -- attacks on naive designs (spec §2.1) -----------------------------------------------------------


def test_sum_splitting_attack_fails(pub: Publication) -> None:
    """Hu-Zhang-Guo: show a different split of a node's value between its children.

    The parent sums and the totals still add up, which is all a node hash over the parent's sum
    alone would bind; ours commits to each child's sums, so the root changes.
    """
    snap, proof, _ = docs(pub, 1001)
    assert proof is not None
    # lower the sibling at level 1 by 1 and raise the one at level 0 by 1: every parent sum and the
    # totals are unchanged, only the split between the children differs
    column, index = next((col, i) for col in ("equity", "debt") for i in range(2) if proof["path"][1][col][i] != "0")
    proof["path"][1][column][index] = str(int(proof["path"][1][column][index]) - 1)
    proof["path"][0][column][index] = str(int(proof["path"][0][column][index]) + 1)
    assert failed(verify(snap, proof)) == {"proof.root"}


def test_negative_balance_cannot_be_expressed() -> None:
    """A fake account with a negative balance: unsigned encodings and range checks leave no way."""
    from rucksack.reserves.liabilities import LiabilityError

    with pytest.raises(LiabilityError):
        build_from_liabilities(snapshot([*ROWS, (666, [0, 0], [0, 0]), (667, [-(10**12), 0], [0, 0])]), b"n" * 32, KEY)


def test_packed_limb_overflow_is_refused(pub: Publication) -> None:
    """Binance's debt bug: an unchecked limb carries into its neighbour. Here every limb is range-checked."""
    snap, proof, _ = docs(pub, 1001)
    assert proof is not None
    # equity[0] + 1 and debt... : 2**64 would carry into the next 8-byte field of the leaf encoding
    proof["equity"][1] = str(int(proof["equity"][1]) + (1 << 64))
    assert failed(verify(snap, proof)) == {"proof.format"}


def test_user_ids_never_appear_in_public_documents(pub: Publication) -> None:
    snap, proof, reserves = docs(pub, 1001)
    text = str(snap) + str(reserves) + str([s["hash"] for s in (proof or {})["path"]])
    for account, _, _ in ROWS:
        assert str(account) not in text


# -- standalone -------------------------------------------------------------------------------------

STANDALONE = {"verify.py", "commitments.py", "signing.py", "__init__.py"}
SRC = Path(__file__).resolve().parents[3] / "src" / "rucksack" / "reserves"


def test_verifier_imports_only_stdlib_and_pynacl() -> None:
    for name in STANDALONE:
        tree = ast.parse((SRC / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                mods.append(node.module)
            for mod in mods:
                top = mod.split(".")[0]
                ok = top in sys.stdlib_module_names or top in {"nacl", "__future__"}
                ok = ok or mod in {"rucksack.reserves", "rucksack.reserves.commitments", "rucksack.reserves.signing"}
                assert ok, f"{name} imports {mod}"


def test_importing_the_verifier_loads_no_msgspec() -> None:
    code = (
        "import sys, rucksack.reserves.verify\n"
        "print(sorted(m for m in sys.modules if m.startswith(('msgspec', 'rucksack'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "msgspec" not in out and "rucksack.exchange" not in out
