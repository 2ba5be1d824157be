"""Message signing: domain separation, independent verification, and refusal of transaction bytes."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from nacl.signing import VerifyKey
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from rucksack.chains.evm import transfers as evm_codec
from rucksack.chains.registry import get_chain
from rucksack.wallet import messages
from rucksack.wallet.messages import MessageRefused

SOL = get_chain("solana")
BASE = get_chain("base")


def test_solana_offchain_header_and_signature() -> None:
    kp = Keypair()
    signed = messages.sign_solana(SOL, kp, b"Sign in to Rucksack")
    p = signed.signed_bytes
    assert p[:16] == b"\xffsolana offchain" and p[16] == 0 and p[17] == 0
    assert int.from_bytes(p[18:20], "little") == 19 and p[20:] == b"Sign in to Rucksack"
    # independent check with libsodium (PyNaCl), not solders
    VerifyKey(bytes(kp.pubkey())).verify(p, bytes.fromhex(Signature_hex(signed.signature)))
    assert messages.verify_solana(signed.signer, p, signed.signature)
    assert not messages.verify_solana(signed.signer, p[20:], signed.signature)
    assert messages.solana_offchain_payload("héllo".encode())[17] == 1
    assert messages.solana_offchain_payload(b"x" * 2000)[17] == 2


def Signature_hex(b58: str) -> str:
    from rucksack.chains.addresses import b58decode

    return b58decode(b58).hex()


def test_solana_refuses_transactions_and_binary() -> None:
    payer = Keypair()
    msg = Message(
        [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=1))], payer.pubkey()
    )
    tx = Transaction([payer], msg, Hash.default())
    for raw in (bytes(msg), bytes(tx)):
        with pytest.raises(MessageRefused, match="Solana transaction"):
            messages.sign_solana(SOL, payer, raw)
    with pytest.raises(MessageRefused, match="UTF-8"):
        messages.sign_solana(SOL, payer, b"\x00\xff\xfe binary")
    with pytest.raises(MessageRefused, match="empty"):
        messages.sign_solana(SOL, payer, b"")


def test_eip191() -> None:
    acct = Account.create()
    signed = messages.sign_personal(BASE, acct, b"hello")
    assert signed.signed_bytes == b"\x19Ethereum Signed Message:\n5hello"
    assert Account.recover_message(encode_defunct(text="hello"), signature=signed.signature) == acct.address


def test_eip191_refuses_transactions() -> None:
    acct = Account.create()
    tx = evm_codec.native_transfer_tx(BASE, acct.address, 1, 0, evm_codec.Fees(10, 1))
    raw = evm_codec.sign(tx, acct)
    with pytest.raises(MessageRefused, match="EVM transaction"):
        messages.sign_personal(BASE, acct, raw)
    legacy_unsigned = bytes.fromhex("e6808504a817c80082520894") + bytes(20) + bytes.fromhex("8080")
    with pytest.raises(MessageRefused):
        messages.sign_personal(BASE, acct, legacy_unsigned)
    with pytest.raises(MessageRefused, match="UTF-8"):
        messages.sign_personal(BASE, acct, bytes(range(200, 232)))  # a 32-byte "hash"


def _typed(primary: str, chain_id: int, message: dict[str, object]) -> dict[str, object]:
    fields = [{"name": k, "type": "address" if str(v).startswith("0x") else "uint256"} for k, v in message.items()]
    return {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
            primary: fields,
        },
        "primaryType": primary,
        "domain": {"name": "Rucksack", "chainId": chain_id},
        "message": message,
    }


def test_eip712_sign_and_flags() -> None:
    acct = Account.create()
    login = _typed("Login", 8453, {"nonce": 7})
    signed = messages.sign_typed(BASE, acct, login)
    assert Account.recover_message(encode_typed_data(full_message=login), signature=signed.signature) == acct.address
    permit = _typed("Permit", 8453, {"owner": acct.address, "spender": "0x" + "ab" * 20, "value": 2**255})
    with pytest.raises(MessageRefused, match="approval"):
        messages.sign_typed(BASE, acct, permit)
    assert messages.sign_typed(BASE, acct, permit, allow_flagged=True).flags[0].kind == "approval"
    with pytest.raises(MessageRefused, match="chain id"):
        messages.sign_typed(BASE, acct, _typed("Login", 1, {"nonce": 7}))
