"""The verifier's checks of on-chain reserves rows: address-control signatures (SVM ed25519 in the
stdlib + PyNaCl core, EVM personal_sign through the optional eth-account hook), duplicates, format."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from eth_account import Account
from eth_account.messages import encode_defunct
from solders.keypair import Keypair

from rucksack.reserves import evm_control
from rucksack.reserves.build import Publication, signed_reserves
from rucksack.reserves.documents import ONCHAIN_SOURCE, Holding, challenge_for
from rucksack.reserves.signing import sign_document
from rucksack.reserves.verify import b58decode, verify
from tests.unit.reserves.conftest import KEY, docs

SVM = [Keypair.from_seed(bytes([i]) * 32) for i in (1, 2)]
EVM = [Account.from_key(bytes([i]) * 32) for i in (3, 4)]


def statement(pub: Publication) -> dict[str, Any]:
    challenge = challenge_for(pub.snapshot.snapshot_id)
    rows = []
    for kp, asset, atoms in ((SVM[0], "USDC", 200_000_000), (SVM[1], "SOL", 2_500_000_000)):
        sig = str(kp.sign_message(challenge.encode()))
        rows.append(Holding(asset, str(atoms), ONCHAIN_SOURCE, str(kp.pubkey()), 7, sig, "solana"))
    for acct in EVM:
        sig = "0x" + bytes(acct.sign_message(encode_defunct(text=challenge)).signature).hex()
        rows.append(Holding("USDC", "50000000", ONCHAIN_SOURCE, acct.address, 12, sig, "base"))
    doc = signed_reserves(pub.snapshot.snapshot_id, pub.snapshot.seq, pub.snapshot.ts_us, rows, KEY)
    return dict(msgspec.to_builtins(doc))


def failed(snap: dict[str, Any], reserves: dict[str, Any], evm: bool = True) -> set[str]:
    report = verify(snap, None, reserves, evm_check=evm_control.check if evm else None)
    return {c.name for c in report.checks if c.status == "fail"}


def resign(doc: dict[str, Any]) -> dict[str, Any]:
    return sign_document("reserves", doc, KEY)


def test_b58decode_matches_solders() -> None:
    kp = SVM[0]
    assert b58decode(str(kp.pubkey())) == bytes(kp.pubkey())
    assert b58decode("1111") == bytes(4)


def test_honest_onchain_statement_verifies_with_every_signature(pub: Publication) -> None:
    snap, _, _ = docs(pub)
    doc = statement(pub)
    report = verify(snap, None, doc, evm_check=evm_control.check)
    assert report.ok, report.to_dict()
    checks = {c.name: c.status for c in report.checks}
    assert checks["reserves.control"] == "ok" and "reserves.control_evm" not in checks
    core = {c.name: c.status for c in verify(snap, None, doc).checks}  # stdlib + PyNaCl only
    assert core["reserves.control"] == "ok" and core["reserves.control_evm"] == "warn"


def test_swapped_or_foreign_signatures_fail(pub: Publication) -> None:
    snap, _, _ = docs(pub)
    doc = statement(pub)
    for i, j in ((0, 1), (2, 3)):  # SVM, then EVM: another address's signature
        bad = copy.deepcopy(doc)
        bad["holdings"][i]["signature"] = doc["holdings"][j]["signature"]
        assert failed(snap, resign(bad)) == {"reserves.control"}
    bad = copy.deepcopy(doc)  # signed over another snapshot's challenge
    other = challenge_for("00" * 32)
    bad["holdings"][0]["signature"] = str(SVM[0].sign_message(other.encode()))
    assert failed(snap, resign(bad)) == {"reserves.control"}
    bad = copy.deepcopy(doc)
    bad["holdings"][2]["signature"] = "0x1234"
    assert failed(snap, resign(bad)) == {"reserves.control"}
    bad["holdings"][1]["signature"] = "not-base58-0OIl"
    assert failed(snap, resign(bad)) == {"reserves.control"}


def test_tampered_balance_duplicate_and_missing_fields_fail(pub: Publication) -> None:
    snap, _, _ = docs(pub)
    doc = statement(pub)
    bad = copy.deepcopy(doc)
    bad["holdings"][0]["balance"] = "999999999999"
    assert "reserves.signature" in failed(snap, bad)
    bad = copy.deepcopy(doc)
    bad["holdings"].append(copy.deepcopy(doc["holdings"][0]))
    assert failed(snap, resign(bad)) == {"reserves.format"}
    bad = copy.deepcopy(doc)
    bad["holdings"][0]["chain"] = ""
    assert failed(snap, resign(bad)) == {"reserves.format"}
