"""Reading a message back into plain words, from its bytes alone.

Invariants:

- ``describe`` re-derives what a transaction does from the message bytes; nothing else in a
  proposal file (its summary, its signer list) is trusted for that.
- An instruction that cannot be read is never guessed: it is reported as an unrecognised call to
  its program, and returned among the ones not understood.
"""

from __future__ import annotations

from solders.instruction import Instruction
from solders.message import Message
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import (
    decode_create_account,
    decode_create_account_with_seed,
    decode_transfer,
)
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import (
    decode_close_account,
    decode_initialize_account3,
    decode_initialize_multisig,
    decode_transfer_checked,
)

from rucksack.chains.registry import Chain, get_chain
from rucksack.chains.svm.transfers import ATA_PROGRAM_ID, decompile
from rucksack.wallet import svm
from rucksack.wallet.review import format_units


def describe(msg: Message, chain_key: str) -> tuple[list[str], list[str]]:
    """Plain words for every instruction, from the bytes; and the ones not understood."""
    chain = get_chain(chain_key)
    words: list[str] = []
    unknown: list[str] = []
    for n, ix in enumerate(decompile(msg)):
        try:
            text = _word(chain, ix)
        except (ValueError, KeyError, IndexError):
            text = None
        if text is None:
            text = f"UNRECOGNISED call to program {ix.program_id}"
            unknown.append(f"instruction {n}: {text}")
        words.append(f"{n}. {text}")
    return words, unknown


def _sol(chain: Chain, lamports: int) -> str:
    return f"{format_units(lamports, chain.native_decimals)} {chain.native_symbol}"


def _word(chain: Chain, ix: Instruction) -> str | None:
    data = ix.data
    if ix.program_id == SYSTEM_PROGRAM_ID:
        tag = int.from_bytes(data[:4], "little")
        if tag == 2:
            t = decode_transfer(ix)
            return f"System transfer {_sol(chain, t['lamports'])} from {t['from_pubkey']} to {t['to_pubkey']}"
        if tag == 0:
            c = decode_create_account(ix)
            return (
                f"create account {c['to_pubkey']} ({c['space']} bytes, owner {c['owner']}), paid by {c['from_pubkey']}"
            )
        if tag == 3:
            s = decode_create_account_with_seed(ix)
            return (
                f"create temporary account {s['to_pubkey']} (seed {s['seed']!r}, {s['space']} bytes, "
                f"owner {s['owner']}), rent {_sol(chain, s['lamports'])} paid by {s['from_pubkey']}"
            )
        return None
    if ix.program_id == ATA_PROGRAM_ID and data in (b"", b"\x00", b"\x01"):
        payer, owner, mint = ix.accounts[0].pubkey, ix.accounts[2].pubkey, ix.accounts[3].pubkey
        return f"create (if absent) the {_asset_name(chain, str(mint))} account of {owner}, paid by {payer}"
    if ix.program_id != TOKEN_PROGRAM_ID or not data:
        return None
    return _token_word(chain, ix)


def _token_word(chain: Chain, ix: Instruction) -> str | None:
    tag = ix.data[0]
    if tag == 12:
        t = decode_transfer_checked(ix)
        by = f" signed by {', '.join(map(str, t.signers))}" if t.signers else ""
        amount = f"{format_units(t.amount, t.decimals)} {_asset_name(chain, str(t.mint))}"
        return f"SPL transfer {amount} from token account {t.source} to {t.dest}, authority {t.owner}{by}"
    if tag == 9:
        c = decode_close_account(ix)
        return f"close token account {c.account} (its lamports go to {c.dest}), authority {c.owner}"
    if tag == 18:
        a = decode_initialize_account3(ix)
        return f"initialise token account {a.account} for {_asset_name(chain, str(a.mint))}, owner {a.owner}"
    if tag == 17:
        return f"sync the wSOL balance of {ix.accounts[0].pubkey}"
    if tag == 2:
        m = decode_initialize_multisig(ix)
        return f"initialise multisig {m.multisig}: {m.m} of {', '.join(map(str, m.signers))}"
    return None


def _asset_name(chain: Chain, mint: str) -> str:
    return f"{chain.native_symbol} (wrapped)" if mint == str(WRAPPED_SOL_MINT) else svm.symbol(chain, mint)
