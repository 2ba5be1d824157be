"""The SPL multisig file formats offline: descriptor and proposal round trips, signature checks
(tampered message, forged or foreign signature, wrong fee payer/signer list), signer order, and
the instruction decoding that approve shows."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.signature import Signature
from solders.transaction import Transaction
from spl.token.constants import WRAPPED_SOL_MINT

from rucksack.chains.registry import get_chain
from rucksack.wallet.multisig import spl

CHAIN = "solana"
OWNERS = [Keypair.from_seed(bytes([n]) * 32) for n in (1, 2, 3)]
PAYER = OWNERS[0]


def descriptor() -> spl.Descriptor:
    ms = Keypair.from_seed(bytes([9]) * 32).pubkey()
    chain = get_chain(CHAIN)
    vaults = (spl.Vault("USDC", chain.token.address, ""), spl.Vault("SOL", str(WRAPPED_SOL_MINT), ""))
    d = spl.Descriptor(CHAIN, str(ms), tuple(str(k.pubkey()) for k in OWNERS), 2, vaults)
    real = tuple(spl.Vault(v.asset, v.mint, d.vault(v.mint).address) for v in vaults)  # the ATAs
    return spl.Descriptor(CHAIN, str(ms), d.signers, 2, real)


def proposal(asset: str = "USDC", signers: tuple[int, ...] = (0, 1), units: int = 5_000_000) -> spl.Proposal:
    d = descriptor()
    chain = get_chain(CHAIN)
    mint = spl.resolve_mint(chain, asset)
    decimals = 9 if asset == "SOL" else 6
    to = Keypair.from_seed(bytes([7]) * 32).pubkey()
    ixs = spl.payout_instructions(
        d, PAYER.pubkey(), mint, units, decimals, to, [OWNERS[i].pubkey() for i in signers],
        seed="rucksack-test", temp_rent=2_039_280,
    )  # fmt: skip
    msg = Message.new_with_blockhash(ixs, PAYER.pubkey(), Hash(bytes([5]) * 32))
    return spl.Proposal(CHAIN, d.address, 2, msg, "test payout")


def test_descriptor_round_trip(tmp_path: Path) -> None:
    d = descriptor()
    path = tmp_path / "ms.json"
    d.save(path)
    assert spl.Descriptor.load(path) == d
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(FileExistsError):
        d.save(path)
    assert d.vault(str(WRAPPED_SOL_MINT)).address == d.vaults[1].address


@pytest.mark.parametrize(("n", "m"), [(0, 1), (12, 2), (3, 0), (3, 4)])
def test_descriptor_refuses_bad_threshold(n: int, m: int) -> None:
    doc = descriptor().to_json()
    doc["signers"] = [str(Keypair().pubkey()) for _ in range(n)]
    doc["threshold"] = m
    with pytest.raises(spl.MultisigError):
        spl.Descriptor.from_json(doc)


def test_descriptor_refuses_other_formats() -> None:
    doc = descriptor().to_json()
    with pytest.raises(spl.MultisigError):
        spl.Descriptor.from_json({**doc, "version": 2})
    with pytest.raises(spl.MultisigError, match="not an SVM chain"):
        spl.Descriptor.from_json({**doc, "chain": "base"})


def test_proposal_round_trip_and_signing(tmp_path: Path) -> None:
    p = proposal()
    assert p.required() == [str(OWNERS[0].pubkey()), str(OWNERS[1].pubkey())]
    assert p.multisig_signers() == p.required()  # the payer is also the first owner
    p.sign(PAYER)
    path = tmp_path / "p.json"
    p.save(path)
    back = spl.Proposal.load(path)
    assert back.to_json() == p.to_json() and back.message == p.message
    assert back.missing() == [str(OWNERS[1].pubkey())]
    with pytest.raises(spl.MissingSignatures):
        back.transaction()
    back.sign(OWNERS[1])
    tx = back.transaction()
    assert all(Transaction.from_bytes(bytes(tx)).verify_with_results())
    assert [str(s) for s in tx.signatures] == [back.signatures[k] for k in back.required()]


def test_payer_outside_the_owners_is_listed_separately() -> None:
    p = proposal(signers=(1, 2))
    assert p.fee_payer == str(PAYER.pubkey())
    assert p.multisig_signers() == [str(OWNERS[1].pubkey()), str(OWNERS[2].pubkey())]
    assert set(p.required()) == {p.fee_payer, *p.multisig_signers()}


def test_changed_message_breaks_every_signature() -> None:
    p = proposal()
    p.sign(PAYER)
    doc = p.to_json()
    raw = base64.b64decode(doc["message"])
    doc["message"] = base64.b64encode(
        raw.replace((5_000_000).to_bytes(8, "little"), (9_000_000).to_bytes(8, "little"))
    ).decode()
    changed = spl.Proposal.from_json(doc)
    with pytest.raises(spl.ProposalTampered, match="does not verify"):
        changed.verify()
    with pytest.raises(spl.ProposalTampered):
        changed.sign(OWNERS[1])  # verify first: nothing is added to a tampered file
    assert str(OWNERS[1].pubkey()) not in changed.signatures


def test_forged_and_foreign_signatures_refused() -> None:
    p = proposal()
    p.signatures[str(OWNERS[1].pubkey())] = str(Signature(bytes(64)))
    with pytest.raises(spl.ProposalTampered):
        p.verify()
    p = proposal()
    p.signatures[str(OWNERS[1].pubkey())] = str(OWNERS[2].sign_message(p.message_bytes))  # right bytes, wrong key
    with pytest.raises(spl.ProposalTampered):
        p.verify()
    p = proposal()
    p.signatures[str(OWNERS[2].pubkey())] = str(OWNERS[2].sign_message(p.message_bytes))  # not required
    with pytest.raises(spl.ProposalTampered, match="does not require"):
        p.verify()
    p.signatures["not base58!"] = "x"
    with pytest.raises(spl.ProposalTampered):
        p.verify()


def test_non_required_key_cannot_sign() -> None:
    p = proposal()
    with pytest.raises(spl.NotASigner):
        p.sign(OWNERS[2])
    with pytest.raises(spl.NotASigner):
        p.sign(Keypair())
    assert p.signatures == {}


def test_file_fields_must_match_the_message() -> None:
    doc = proposal().to_json()
    with pytest.raises(spl.ProposalTampered):
        spl.Proposal.from_json({**doc, "feePayer": str(OWNERS[1].pubkey())})
    with pytest.raises(spl.ProposalTampered):
        spl.Proposal.from_json({**doc, "signers": [str(OWNERS[0].pubkey()), str(OWNERS[2].pubkey())]})
    with pytest.raises(spl.ProposalTampered, match="authority"):
        spl.Proposal.from_json({**doc, "multisig": str(Keypair().pubkey())})
    with pytest.raises(spl.MultisigError, match="does not decode"):
        spl.Proposal.from_json({**doc, "message": base64.b64encode(b"junk").decode()})
    with pytest.raises(spl.MultisigError):
        spl.Proposal.from_json({**doc, "format": "something-else"})


def test_load_refuses_non_json(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text("{not json")
    with pytest.raises(spl.MultisigError, match="not JSON"):
        spl.Proposal.load(path)
    path.write_text(json.dumps([1]))
    with pytest.raises(spl.MultisigError):
        spl.Proposal.load(path)


def test_describe_token_and_sol_payouts() -> None:
    words, unknown = spl.describe(proposal().message, CHAIN)
    assert not unknown and len(words) == 2
    assert "SPL transfer 5 USDC" in words[1] and descriptor().address in words[1]
    words, unknown = spl.describe(proposal("SOL", units=1_500_000_000).message, CHAIN)
    assert not unknown and len(words) == 5
    assert "SPL transfer 1.5 SOL (wrapped)" in words[2]
    assert words[4].startswith("4. System transfer 1.5 SOL")


def test_describe_flags_unknown_programs() -> None:
    from solders.instruction import Instruction
    from solders.pubkey import Pubkey

    other = Instruction(Pubkey.new_unique(), b"\x01", [])
    msg = Message.new_with_blockhash([other], PAYER.pubkey(), Hash.default())
    _words, unknown = spl.describe(msg, CHAIN)
    assert len(unknown) == 1 and "UNRECOGNISED" in unknown[0]


def test_default_signers_wrap_around() -> None:
    d = descriptor()
    assert spl.default_signers(d, d.signers[1]) == [d.signers[1], d.signers[2]]
    assert spl.default_signers(d, d.signers[2]) == [d.signers[2], d.signers[0]]


def test_merge_copies_signed_apart() -> None:
    p = proposal()
    p.sign(PAYER)
    copy = spl.Proposal.from_json(p.to_json())
    copy.sign(OWNERS[1])
    p.merge(copy)
    assert p.missing() == [] and p.signatures == copy.signatures
    other = proposal(units=6_000_000)
    with pytest.raises(spl.MultisigError, match="messages differ"):
        p.merge(other)
    bad = spl.Proposal.from_json(p.to_json())
    bad.signatures[str(OWNERS[1].pubkey())] = str(Signature(bytes(64)))
    fresh = proposal()
    with pytest.raises(spl.ProposalTampered):
        fresh.merge(bad)
    assert fresh.signatures == {}
