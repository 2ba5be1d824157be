"""Amounts, the refusal rule, and SVM instruction flags (no chain needed)."""

from __future__ import annotations

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import AssignParams, TransferParams, assign, transfer
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import AuthorityType, approve, set_authority
from spl.token.models import ApproveParams, SetAuthorityParams

from rucksack.wallet.review import Change, Flag, Refused, Review, enforce, format_units, parse_units
from rucksack.wallet.rpc import Endpoints
from rucksack.wallet.svm import instruction_flags


def test_units() -> None:
    assert parse_units("1.5", 9) == 1_500_000_000
    assert parse_units(".000001", 6) == 1
    assert parse_units("7", 0) == 7
    for bad in ("", "-1", "0", "1.2.3", "abc", "1e5", "0.0000001"):
        with pytest.raises(ValueError):
            parse_units(bad, 6)
    assert format_units(-1_500_000_000, 9) == "-1.5"
    assert format_units(10**18, 18) == "1"
    assert Change("a", "SOL", 10, 3, 9).text() == "a  -0.000000007 SOL"


def test_enforce() -> None:
    clean = Review("solana", ok=True, error=None)
    enforce(clean)
    flagged = Review("solana", ok=True, error=None, flags=[Flag("approval", "x")])
    with pytest.raises(Refused, match="approval"):
        enforce(flagged)
    enforce(flagged, allow_flagged=True)
    failed = Review("solana", ok=False, error="boom")
    with pytest.raises(Refused, match="simulation failed"):
        enforce(failed, allow_flagged=True)
    assert flagged.to_json()["flags"] == [{"kind": "approval", "detail": "x"}]


def test_svm_instruction_flags() -> None:
    me, other = Keypair().pubkey(), Keypair().pubkey()
    ok = Message([transfer(TransferParams(from_pubkey=me, to_pubkey=other, lamports=5))], me)
    assert instruction_flags(ok) == []
    unknown = Instruction(Pubkey.new_unique(), b"", [AccountMeta(me, True, True)])
    assert [f.kind for f in instruction_flags(Message([unknown], me))] == ["unknown-program"]
    grab = assign(AssignParams(pubkey=me, owner=Pubkey.new_unique()))
    assert [f.kind for f in instruction_flags(Message([grab], me))] == ["authority-change"]
    ata = Pubkey.new_unique()
    appr = approve(ApproveParams(program_id=TOKEN_PROGRAM_ID, source=ata, delegate=other, owner=me, amount=1))
    flags = instruction_flags(Message([appr], me))
    assert [f.kind for f in flags] == ["approval"] and str(other) in flags[0].detail
    auth = set_authority(
        SetAuthorityParams(
            program_id=TOKEN_PROGRAM_ID,
            account=ata,
            authority=AuthorityType.ACCOUNT_OWNER,
            current_authority=me,
            new_authority=other,
        )
    )
    assert [f.kind for f in instruction_flags(Message([auth], me))] == ["authority-change"]


def test_endpoints() -> None:
    e = Endpoints.parse("http://127.0.0.1:9000/", ["base=https://node.example/base"])
    assert e.url("solana") == "http://127.0.0.1:9000/solana"
    assert e.url("base") == "https://node.example/base"
    with pytest.raises(ValueError):
        Endpoints.parse(None, ["base"])
    with pytest.raises(KeyError):
        Endpoints.parse(None, ["dogechain=http://x"])
