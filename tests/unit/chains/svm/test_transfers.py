"""SVM codecs offline, and against an in-process LiteSVM (no RPC) for what they build."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import TransactionMetadata
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import close_account
from spl.token.models import CloseAccountParams

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.svm_node import SvmNode
from rucksack.chains.registry import get_chain
from rucksack.chains.svm import transfers as svm
from rucksack.chains.transfers import NATIVE, Transfer


def test_native_transfer_round_trip() -> None:
    a, b = Keypair(), Keypair()
    svm_ = LiteSVM()
    tx = svm.sign(svm.native_transfer_message(a.pubkey(), b.pubkey(), 1234), [a], svm_.latest_blockhash())
    decoded = svm.decode_transfers(bytes(tx))
    assert decoded.transfers == (Transfer("solana", NATIVE, str(a.pubkey()), str(b.pubkey()), 1234),)
    assert decoded.fee_payer == str(a.pubkey()) and decoded.signature == str(tx.signatures[0])
    assert decoded.other_programs == ()


def test_tampered_signature_is_refused() -> None:
    a, b = Keypair(), Keypair()
    tx = svm.sign(svm.native_transfer_message(a.pubkey(), b.pubkey(), 1), [a], LiteSVM().latest_blockhash())
    forged = VersionedTransaction.populate(tx.message, [Signature(bytes(64))])
    with pytest.raises(ValueError, match="signatures"):
        svm.decode_transfers(bytes(forged))


def test_missing_signer_cannot_sign() -> None:
    a, b = Keypair(), Keypair()
    with pytest.raises(ValueError, match="missing"):
        svm.sign(svm.native_transfer_message(a.pubkey(), b.pubkey(), 1), [b], LiteSVM().latest_blockhash())


def test_unknown_programs_are_listed() -> None:
    owner = Keypair()
    ix = close_account(
        CloseAccountParams(
            program_id=TOKEN_PROGRAM_ID,
            account=Keypair().pubkey(),
            dest=owner.pubkey(),
            owner=owner.pubkey(),
        )
    )
    memo = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
    from solders.instruction import Instruction

    msg = Message([ix, Instruction(memo, b"hi", [])], owner.pubkey())
    decoded = svm.decode_transfers(bytes(svm.sign(msg, [owner], LiteSVM().latest_blockhash())))
    assert decoded.transfers == ()
    assert str(memo) in decoded.other_programs and len(decoded.other_programs) == 2


def test_spl_transfer_executes_on_the_devnet_genesis() -> None:
    node = SvmNode(get_chain("solana"))  # genesis: mint + faucet holding the supply
    faucet, mint = genesis.svm_faucet(), Pubkey.from_string(get_chain("solana").token.address)
    owner = Keypair().pubkey()
    msg = svm.token_transfer_message(faucet.pubkey(), owner, mint, 5_000_000, 6)
    tx = svm.sign(msg, [faucet], node.svm.latest_blockhash())
    (t,) = svm.decode_transfers(bytes(tx)).transfers
    assert (t.asset, t.sender, t.amount) == (str(mint), str(faucet.pubkey()), 5_000_000)
    assert t.recipient == str(svm.associated_token_address(owner, mint))
    assert isinstance(node.svm.send_transaction(tx), TransactionMetadata)
    account = node.svm.get_account(svm.associated_token_address(owner, mint))
    assert account is not None and TokenAccount.from_bytes(bytes(account.data)).amount == 5_000_000
    # the wrong decimals fail on chain (transfer_checked), moving nothing
    bad = svm.sign(
        svm.token_transfer_message(faucet.pubkey(), owner, mint, 1, 9), [faucet], node.svm.latest_blockhash()
    )
    assert not isinstance(node.svm.send_transaction(bad), TransactionMetadata)
