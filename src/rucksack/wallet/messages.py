"""Off-chain message signing, domain-separated so a signature can never authorise a transaction.

- Solana/Eclipse: the off-chain message format (solana-sdk ``offchain_message`` v0, what the
  Ledger Solana app signs): ``b"\\xffsolana offchain"`` (16 bytes), version ``0``, format (0 =
  restricted ASCII, 1 = UTF-8 up to 1,212 bytes, 2 = UTF-8 up to 65,515 bytes), length u16 LE,
  then the text. The ``0xff`` first byte can never start a transaction or message, so the
  signature is useless on chain. Only text is signed (arbitrary binary is refused).
- EVM: EIP-191 ``personal_sign`` (``"\\x19Ethereum Signed Message:\\n" + len``) and EIP-712 typed
  data, both through eth-account.
- Before wrapping, input that parses as a Solana transaction/message or an EVM transaction (typed
  envelope or RLP legacy list) is refused outright: a dApp asking to "sign this message" with
  transaction bytes is the blind-signing attack, whatever the wrapper would do to it.
- EIP-712 permits (``Permit*`` primary types, or any message naming a ``spender``) are approvals
  and need the same explicit override as an approving transaction; a ``domain.chainId`` other than
  the chain's is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import rlp
from eth_account import Account
from eth_account.messages import SignableMessage, encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from rucksack.chains.registry import Chain
from rucksack.wallet.review import APPROVAL, Flag

SOLANA_OFFCHAIN_DOMAIN = b"\xffsolana offchain"
OFFCHAIN_VERSION = 0
FORMAT_RESTRICTED_ASCII, FORMAT_LIMITED_UTF8, FORMAT_EXTENDED_UTF8 = 0, 1, 2
LEDGER_MAX = 1212  # formats 0 and 1 (what a Ledger displays)
EXTENDED_MAX = 65535 - 20
PERMIT_TYPES = {
    "Permit",
    "PermitSingle",
    "PermitBatch",
    "PermitTransferFrom",
    "PermitBatchTransferFrom",
    "PermitWitnessTransferFrom",
}


class MessageRefused(ValueError):
    pass


@dataclass
class SignedMessage:
    chain: str
    signer: str
    scheme: str  # "solana-offchain-v0" | "eip191" | "eip712"
    signed_bytes: bytes  # exactly what the signature covers (or its digest, for EVM)
    signature: str
    flags: list[Flag] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "signer": self.signer,
            "scheme": self.scheme,
            "signed": "0x" + self.signed_bytes.hex(),
            "signature": self.signature,
            "flags": [{"kind": f.kind, "detail": f.detail} for f in self.flags],
        }


# -- "is this a transaction?" --------------------------------------------------------------------


def _exact(parse: Any, data: bytes) -> bool:
    try:
        return bytes(parse(data)) == data
    except Exception:  # any parser error means: not that structure
        return False


def looks_like_solana_transaction(data: bytes) -> bool:
    parsers = (Transaction.from_bytes, VersionedTransaction.from_bytes, Message.from_bytes)
    if any(_exact(p, data) for p in parsers):
        return True
    return bool(data) and data[0] & 0x80 != 0 and _exact(MessageV0.from_bytes, data[1:])


def looks_like_evm_transaction(data: bytes) -> bool:
    if not data:
        return False
    if data[0] <= 0x7F:
        try:
            TypedTransaction.from_bytes(HexBytes(data))
            return True
        except Exception:  # not a typed envelope
            pass
        try:  # an unsigned typed payload: type byte + RLP list
            return isinstance(rlp.decode(data[1:]), list) and data[0] in (1, 2, 3, 4)
        except Exception:
            return False
    try:
        fields = rlp.decode(data)
    except Exception:
        return False
    return isinstance(fields, list) and len(fields) in (6, 9)


# -- Solana --------------------------------------------------------------------------------------


def solana_offchain_payload(text: bytes) -> bytes:
    if looks_like_solana_transaction(text):
        raise MessageRefused("refused: these bytes parse as a Solana transaction, not a message")
    if not text:
        raise MessageRefused("refused: empty message")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        raise MessageRefused("refused: not UTF-8 text (the wallet never signs opaque bytes)") from None
    if all(0x20 <= b <= 0x7E for b in text) and len(text) <= LEDGER_MAX:
        fmt = FORMAT_RESTRICTED_ASCII
    elif len(text) <= LEDGER_MAX:
        fmt = FORMAT_LIMITED_UTF8
    elif len(text) <= EXTENDED_MAX:
        fmt = FORMAT_EXTENDED_UTF8
    else:
        raise MessageRefused(f"refused: message longer than {EXTENDED_MAX} bytes")
    return SOLANA_OFFCHAIN_DOMAIN + bytes([OFFCHAIN_VERSION, fmt]) + len(text).to_bytes(2, "little") + text


def sign_solana(chain: Chain, keypair: Keypair, text: bytes) -> SignedMessage:
    payload = solana_offchain_payload(text)
    sig = keypair.sign_message(payload)
    return SignedMessage(chain.key, str(keypair.pubkey()), "solana-offchain-v0", payload, str(sig))


def verify_solana(signer: str, payload: bytes, signature: str) -> bool:
    if not payload.startswith(SOLANA_OFFCHAIN_DOMAIN):
        return False
    return Signature.from_string(signature).verify(Pubkey.from_string(signer), payload)


# -- EVM -----------------------------------------------------------------------------------------


def personal_signable(data: bytes) -> SignableMessage:
    """The EIP-191 message for ``data``, refusing transactions, empty and non-text bytes."""
    if looks_like_evm_transaction(data):
        raise MessageRefused("refused: these bytes parse as an EVM transaction, not a message")
    if not data:
        raise MessageRefused("refused: empty message")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise MessageRefused("refused: not UTF-8 text (the wallet never signs opaque bytes or hashes)") from None
    return encode_defunct(primitive=data)


def eip191_bytes(signable: SignableMessage) -> bytes:
    """The bytes an EIP-191 signature covers (hashed with keccak256): ``0x19 version header body``."""
    return b"\x19" + signable.version + signable.header + signable.body


def sign_personal(chain: Chain, account: LocalAccount, data: bytes) -> SignedMessage:
    signable = personal_signable(data)
    signed = account.sign_message(signable)
    return SignedMessage(
        chain.key, account.address, "eip191", eip191_bytes(signable), "0x" + bytes(signed.signature).hex()
    )


def typed_data_flags(chain: Chain, typed: dict[str, Any]) -> list[Flag]:
    flags: list[Flag] = []
    primary = str(typed.get("primaryType", ""))
    message = typed.get("message") or {}
    if primary in PERMIT_TYPES or (isinstance(message, dict) and "spender" in message):
        spender = message.get("spender", "?") if isinstance(message, dict) else "?"
        flags.append(
            Flag(APPROVAL, f"EIP-712 {primary or 'message'} grants spender {spender} the right to move tokens")
        )
    return flags


def check_typed(chain: Chain, typed: dict[str, Any], *, allow_flagged: bool = False) -> list[Flag]:
    """Refuse typed data for another chain, or a flagged one without the override; its flags."""
    domain = typed.get("domain") or {}
    chain_id = domain.get("chainId")
    if chain_id is not None and int(str(chain_id), 0) != chain.chain_id:
        raise MessageRefused(f"refused: typed data is for chain id {chain_id}, this is {chain.key} ({chain.chain_id})")
    flags = typed_data_flags(chain, typed)
    if flags and not allow_flagged:
        raise MessageRefused("refused: " + "; ".join(f.text() for f in flags) + " (pass the explicit override)")
    return flags


def typed_data_hash(typed: dict[str, Any]) -> bytes:
    """The 32-byte EIP-712 digest ``keccak256(0x19 0x01 domainSeparator hashStruct(message))``, which
    a ``SignedMessage`` of scheme ``eip712`` reports as what was signed (keystore and device alike)."""
    return keccak(eip191_bytes(encode_typed_data(full_message=typed)))


def sign_typed(
    chain: Chain, account: LocalAccount, typed: dict[str, Any], *, allow_flagged: bool = False
) -> SignedMessage:
    flags = check_typed(chain, typed, allow_flagged=allow_flagged)
    signed = Account.sign_typed_data(account.key, full_message=typed)
    return SignedMessage(
        chain.key, account.address, "eip712", typed_data_hash(typed), "0x" + bytes(signed.signature).hex(), flags
    )
