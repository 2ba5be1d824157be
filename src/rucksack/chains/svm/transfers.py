"""Build, sign, decode and simulate SVM transfers: native lamports and SPL tokens.

- Native: one System ``transfer`` instruction, fee payer = sender.
- SPL: ``transfer_checked`` (mint and decimals are part of the instruction, so a wrong mint or
  decimals fails on chain rather than moving the wrong token) from the sender's associated token
  account (ATA) to the recipient's ATA, preceded by an idempotent create of the recipient's ATA
  (paid by the sender) unless the caller says it exists.
- Messages are legacy messages; signing needs a recent blockhash from the chain
  (``getLatestBlockhash``). ``decode_transfers`` reads only the bytes and recognises System
  ``transfer`` and SPL ``transfer``/``transfer_checked``; any other instruction is reported in
  ``DecodedTransaction.other_programs`` so a caller can refuse what it does not understand.
- ``simulate`` (async: solana-py 0.41 ships only ``AsyncClient``) asks any JSON-RPC endpoint (the
  devnet or a real cluster) to run the transaction without committing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from solana.rpc.async_api import AsyncClient
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import TransferParams as SysTransferParams
from solders.system_program import decode_transfer as decode_sys_transfer
from solders.system_program import transfer as sys_transfer
from solders.transaction import Transaction, VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    decode_transfer,
    decode_transfer_checked,
    get_associated_token_address,
    transfer_checked,
)
from spl.token.models import TransferCheckedParams

from rucksack.chains.transfers import NATIVE, Simulation, Transfer

ATA_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
COMPUTE_BUDGET_PROGRAM_ID = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
_TRANSFER = 3
_TRANSFER_CHECKED = 12


def associated_token_address(owner: Pubkey, mint: Pubkey) -> Pubkey:
    return get_associated_token_address(owner, mint)


def native_transfer_message(sender: Pubkey, recipient: Pubkey, lamports: int) -> Message:
    ix = sys_transfer(SysTransferParams(from_pubkey=sender, to_pubkey=recipient, lamports=lamports))
    return Message([ix], sender)


def token_transfer_message(
    sender: Pubkey,
    recipient_owner: Pubkey,
    mint: Pubkey,
    amount: int,
    decimals: int,
    *,
    create_recipient_account: bool = True,
) -> Message:
    """SPL ``transfer_checked`` from the sender's ATA to the recipient owner's ATA."""
    source = associated_token_address(sender, mint)
    dest = associated_token_address(recipient_owner, mint)
    ixs: list[Instruction] = []
    if create_recipient_account:
        ixs.append(create_idempotent_associated_token_account(sender, recipient_owner, mint))
    ixs.append(
        transfer_checked(
            TransferCheckedParams(
                program_id=TOKEN_PROGRAM_ID,
                source=source,
                mint=mint,
                dest=dest,
                owner=sender,
                amount=amount,
                decimals=decimals,
            )
        )
    )
    return Message(ixs, sender)


def sign(message: Message, signers: list[Keypair], blockhash: Hash) -> VersionedTransaction:
    """A fully signed transaction (legacy message, in the versioned envelope solana-py 0.41 sends).

    Raises if a required signer is missing. ``bytes()`` of it is the legacy wire format.
    """
    required = set(message.account_keys[: message.header.num_required_signatures])
    given = {k.pubkey() for k in signers}
    if required != given:
        missing = ", ".join(sorted(str(k) for k in required - given)) or "none"
        extra = ", ".join(sorted(str(k) for k in given - required)) or "none"
        raise ValueError(f"signers do not match the message: missing {missing}; not required {extra}")
    return VersionedTransaction.from_legacy(Transaction(signers, message, blockhash))


@dataclass(frozen=True, slots=True)
class DecodedTransaction:
    signature: str
    fee_payer: str
    recent_blockhash: str
    transfers: tuple[Transfer, ...]
    other_programs: tuple[str, ...] = field(default=())  # programs called that are not transfers


def decode_transfers(raw: bytes, chain: str = "solana") -> DecodedTransaction:
    """Read a serialized (legacy) transaction; verify its signatures; list what it transfers."""
    tx = Transaction.from_bytes(raw)
    if not all(tx.verify_with_results()):
        raise ValueError("transaction signatures do not verify")
    msg = tx.message
    keys = msg.account_keys
    transfers: list[Transfer] = []
    others: list[str] = []
    for cix, ix in zip(msg.instructions, decompile(msg), strict=True):
        program = keys[cix.program_id_index]
        if program == SYSTEM_PROGRAM_ID and bytes(cix.data)[:4] == (2).to_bytes(4, "little"):
            p = decode_sys_transfer(ix)
            transfers.append(Transfer(chain, NATIVE, str(p["from_pubkey"]), str(p["to_pubkey"]), p["lamports"]))
        elif program == TOKEN_PROGRAM_ID and cix.data and cix.data[0] == _TRANSFER_CHECKED:
            t = decode_transfer_checked(ix)
            transfers.append(Transfer(chain, str(t.mint), str(t.owner), str(t.dest), t.amount))
        elif program == TOKEN_PROGRAM_ID and cix.data and cix.data[0] == _TRANSFER:
            u = decode_transfer(ix)  # unchecked: the mint is the source account's, unknown from bytes
            transfers.append(Transfer(chain, "unknown-mint", str(u.owner), str(u.dest), u.amount))
        elif program in (ATA_PROGRAM_ID, COMPUTE_BUDGET_PROGRAM_ID):
            continue  # account creation and fee settings move no value
        else:
            others.append(str(program))
    return DecodedTransaction(
        signature=str(tx.signatures[0]),
        fee_payer=str(keys[0]),
        recent_blockhash=str(msg.recent_blockhash),
        transfers=tuple(transfers),
        other_programs=tuple(others),
    )


def _meta(msg: Message, index: int) -> AccountMeta:
    h = msg.header  # legacy layout: [writable signers | readonly signers | writable | readonly]
    signers = h.num_required_signatures
    if index < signers:
        writable = index < signers - h.num_readonly_signed_accounts
    else:
        writable = index < len(msg.account_keys) - h.num_readonly_unsigned_accounts
    return AccountMeta(msg.account_keys[index], index < signers, writable)


def decompile(msg: Message) -> list[Instruction]:
    """A legacy message's instructions with their account metas (signer, writable) restored from
    the header, as solders' instruction decoders take them."""
    keys = msg.account_keys
    return [
        Instruction(keys[c.program_id_index], bytes(c.data), [_meta(msg, i) for i in c.accounts])
        for c in msg.instructions
    ]


async def simulate(client: AsyncClient, tx: VersionedTransaction) -> Simulation:
    """Run ``tx`` on the endpoint behind ``client`` without committing (``simulateTransaction``).

    solana-py 0.41 ships only the asyncio client (``solana.rpc.async_api.AsyncClient``).
    """
    value = (await client.simulate_transaction(tx, sig_verify=True)).value
    return Simulation(
        ok=value.err is None,
        error=None if value.err is None else str(value.err),
        logs=tuple(value.logs or ()),
        units_consumed=value.units_consumed,
    )
