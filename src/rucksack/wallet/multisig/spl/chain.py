"""Chain reads: blockhash validity, the on-chain multisig account, vault balances.

Invariants:

- The node, not a file, answers: whether a message's recent blockhash is still valid
  (``isBlockhashValid``), which owners and threshold the multisig account holds, what the vaults hold.
- An account counts as the multisig only if SPL Token owns it and it is 355 bytes long; anything
  else is refused with ``MultisigError``.
- A vault that does not exist yet reads as zero.
"""

from __future__ import annotations

from typing import Any

from solders.message import Message
from solders.token.state import Multisig, TokenAccount
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT

from rucksack.chains.registry import get_chain
from rucksack.wallet import svm
from rucksack.wallet.multisig.spl.build import mint_decimals
from rucksack.wallet.multisig.spl.descriptor import (
    MULTISIG_LEN,
    NATIVE_DECIMALS,
    TOKEN_ACCOUNT_LEN,
    Descriptor,
    MultisigError,
)
from rucksack.wallet.review import format_units
from rucksack.wallet.rpc import Rpc


def blockhash_valid(rpc: Rpc, msg: Message) -> bool:
    return bool(rpc.call("isBlockhashValid", str(msg.recent_blockhash), {"commitment": "processed"})["value"])


def onchain_multisig(rpc: Rpc, address: str) -> Multisig:
    acc = svm.get_accounts(rpc, [address])[0]
    if acc is None or acc[2] != str(TOKEN_PROGRAM_ID) or len(acc[1]) != MULTISIG_LEN:
        raise MultisigError(f"{address} is not an SPL Token multisig account")
    return Multisig.from_bytes(acc[1])


def vault_balances(rpc: Rpc, desc: Descriptor) -> list[dict[str, Any]]:
    chain = get_chain(desc.chain)
    out = []
    for vault, acc in zip(desc.vaults, svm.get_accounts(rpc, [v.address for v in desc.vaults]), strict=True):
        state = TokenAccount.from_bytes(acc[1]) if acc and len(acc[1]) == TOKEN_ACCOUNT_LEN else None
        amount = state.amount if state is not None else 0
        decimals = NATIVE_DECIMALS if vault.mint == str(WRAPPED_SOL_MINT) else mint_decimals(rpc, chain, vault.mint)
        out.append(
            {
                "asset": vault.asset,
                "mint": vault.mint,
                "vault": vault.address,
                "exists": acc is not None,
                "units": str(amount),
                "amount": format_units(amount, decimals),
            }
        )
    return out
