"""Transactions the wallet builds: signing, create, fund, mints and decimals, payout instructions.

Invariants:

- ``prepare`` signs with the payer (and any extra signers) and simulates exactly those bytes for the
  wallet's review; nothing here sends a transaction.
- Anyone can deposit into a vault: SOL is lamports sent to the wSOL vault, then ``SyncNative``; a
  token is a ``TransferChecked`` from the funder's ATA (the vault ATA created idempotently).
- Moving tokens out needs an instruction that names the multisig as authority and lists at least m
  of its signers as transaction signers. The SPL Token program checks that, so a transaction with
  fewer signatures fails on chain with ``MissingRequiredSignature``.
- SOL payout (exact amount, the vault stays open): in one transaction the proposer creates a
  temporary wSOL account from a seed (``CreateAccountWithSeed``, base = the proposer, rent paid by
  the proposer), ``InitializeAccount3`` with the proposer as its owner, the multisig moves the
  amount into it (``TransferChecked`` of wSOL, m of n signers), the proposer closes it to
  itself (rent + amount come back) and a System ``Transfer`` pays the amount to the recipient.
  Net: vault -amount, recipient +amount SOL, proposer -fee. Atomic: all or nothing.
"""

from __future__ import annotations

from typing import Any

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import (
    CreateAccountParams,
    CreateAccountWithSeedParams,
    TransferParams,
    create_account,
    create_account_with_seed,
    transfer,
)
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import (
    close_account,
    create_idempotent_associated_token_account,
    get_associated_token_address,
    initialize_account3,
    initialize_multisig,
    sync_native,
    transfer_checked,
)
from spl.token.models import (
    CloseAccountParams,
    InitializeAccount3Params,
    InitializeMultisigParams,
    SyncNativeParams,
    TransferCheckedParams,
)

from rucksack.chains.addresses import validate_svm_address
from rucksack.chains.registry import Chain, get_chain
from rucksack.wallet import svm
from rucksack.wallet.multisig.spl.descriptor import (
    MULTISIG_LEN,
    NATIVE_DECIMALS,
    SOL,
    TOKEN_ACCOUNT_LEN,
    Descriptor,
    MultisigError,
    Vault,
    _check_threshold,
    _pk,
)
from rucksack.wallet.rpc import Rpc
from rucksack.wallet.send import Prepared
from rucksack.wallet.signers import SvmSigner

# -- signing helpers ----------------------------------------------------------------------------


def prepare(rpc: Rpc, chain: Chain, instructions: list[Instruction], payer: SvmSigner, extra: list[Any]) -> Prepared:
    """Sign with the payer (and ``extra`` signers), simulate those bytes: the wallet's review path."""
    msg = Message.new_with_blockhash(instructions, payer.pubkey(), svm.latest_blockhash(rpc))
    tx = svm.sign_with(msg, [payer, *extra])
    return Prepared(chain, rpc, svm.review(rpc, chain, tx), tx)


# -- create and fund ----------------------------------------------------------------------------


def create_instructions(
    payer: Pubkey, multisig: Pubkey, signers: list[Pubkey], threshold: int, rent: int, token_mint: Pubkey
) -> list[Instruction]:
    """New multisig account + InitializeMultisig + the token and wSOL vaults (ATAs, idempotent)."""
    return [
        create_account(
            CreateAccountParams(
                from_pubkey=payer, to_pubkey=multisig, lamports=rent, space=MULTISIG_LEN, owner=TOKEN_PROGRAM_ID
            )
        ),
        initialize_multisig(
            InitializeMultisigParams(program_id=TOKEN_PROGRAM_ID, multisig=multisig, m=threshold, signers=signers)
        ),
        create_idempotent_associated_token_account(payer, multisig, token_mint),
        create_idempotent_associated_token_account(payer, multisig, WRAPPED_SOL_MINT),
    ]


def prepare_create(
    rpc: Rpc, chain_key: str, payer: SvmSigner, signers: list[str], threshold: int
) -> tuple[Descriptor, Prepared]:
    """The creation transaction (creator pays rent and fee), signed and simulated, not sent."""
    chain = get_chain(chain_key)
    if not chain.is_svm:
        raise MultisigError(f"{chain.key} is not an SVM chain")
    keys = [_pk(s) for s in signers]
    if len(set(keys)) != len(keys):
        raise MultisigError("a signer is listed twice")
    _check_threshold(len(keys), threshold)
    account = Keypair()  # signs its own creation once, then is forgotten: it has no authority
    rent = int(rpc.call("getMinimumBalanceForRentExemption", MULTISIG_LEN))
    mint = Pubkey.from_string(chain.token.address)
    ixs = create_instructions(payer.pubkey(), account.pubkey(), keys, threshold, rent, mint)
    ms = account.pubkey()
    vaults = (
        Vault(chain.token.symbol, chain.token.address, str(get_associated_token_address(ms, mint))),
        Vault(chain.native_symbol, str(WRAPPED_SOL_MINT), str(get_associated_token_address(ms, WRAPPED_SOL_MINT))),
    )
    desc = Descriptor(chain.key, str(ms), tuple(str(k) for k in keys), threshold, vaults)
    return desc, prepare(rpc, chain, ixs, payer, [account])


def resolve_mint(chain: Chain, asset: str) -> str:
    """``SOL``/the native symbol (Eclipse: ETH)/``native`` -> the native mint (wrapped coin); the
    registry token's symbol -> its mint; else a mint address."""
    if asset.upper() in (SOL, chain.native_symbol, "NATIVE", "WSOL"):
        return str(WRAPPED_SOL_MINT)
    if asset.upper() == chain.token.symbol:
        return chain.token.address
    return validate_svm_address(asset)


def mint_decimals(rpc: Rpc, chain: Chain, mint: str) -> int:
    if mint == str(WRAPPED_SOL_MINT):
        return NATIVE_DECIMALS
    dec = svm._mint_decimals(rpc, chain, {mint}).get(mint)
    if dec is None:
        raise MultisigError(f"{mint} is not a token mint on {chain.key}")
    return dec


def fund_instructions(desc: Descriptor, funder: Pubkey, mint: str, units: int, decimals: int) -> list[Instruction]:
    """Deposit into a vault: SOL = lamports to the wSOL vault + SyncNative; a token = TransferChecked
    from the funder's ATA (the vault ATA is created idempotently, paid by the funder)."""
    ms, mint_pk = _pk(desc.address), _pk(mint)
    vault = get_associated_token_address(ms, mint_pk)
    if mint_pk == WRAPPED_SOL_MINT:
        return [
            create_idempotent_associated_token_account(funder, ms, WRAPPED_SOL_MINT),
            transfer(TransferParams(from_pubkey=funder, to_pubkey=vault, lamports=units)),
            sync_native(SyncNativeParams(program_id=TOKEN_PROGRAM_ID, account=vault)),
        ]
    return [
        create_idempotent_associated_token_account(funder, ms, mint_pk),
        transfer_checked(
            TransferCheckedParams(
                program_id=TOKEN_PROGRAM_ID,
                source=get_associated_token_address(funder, mint_pk),
                mint=mint_pk,
                dest=vault,
                owner=funder,
                amount=units,
                decimals=decimals,
            )
        ),
    ]


def prepare_fund(rpc: Rpc, desc: Descriptor, funder: SvmSigner, asset: str, units: int) -> Prepared:
    chain = get_chain(desc.chain)
    mint = resolve_mint(chain, asset)
    ixs = fund_instructions(desc, funder.pubkey(), mint, units, mint_decimals(rpc, chain, mint))
    return prepare(rpc, chain, ixs, funder, [])


# -- payouts ------------------------------------------------------------------------------------


def payout_instructions(
    desc: Descriptor,
    payer: Pubkey,
    mint: str,
    units: int,
    decimals: int,
    to: Pubkey,
    signers: list[Pubkey],
    *,
    seed: str,
    temp_rent: int,
) -> list[Instruction]:
    """A transfer out of a vault, authorised by the multisig with ``signers`` (see the module doc)."""
    ms, mint_pk = _pk(desc.address), _pk(mint)
    vault = get_associated_token_address(ms, mint_pk)
    if mint_pk != WRAPPED_SOL_MINT:
        dest = get_associated_token_address(to, mint_pk)
        return [
            create_idempotent_associated_token_account(payer, to, mint_pk),
            _multisig_transfer(vault, mint_pk, dest, ms, units, decimals, signers),
        ]
    temp = Pubkey.create_with_seed(payer, seed, TOKEN_PROGRAM_ID)
    return [
        create_account_with_seed(
            CreateAccountWithSeedParams(
                from_pubkey=payer,
                to_pubkey=temp,
                base=payer,
                seed=seed,
                lamports=temp_rent,
                space=TOKEN_ACCOUNT_LEN,
                owner=TOKEN_PROGRAM_ID,
            )
        ),
        initialize_account3(
            InitializeAccount3Params(program_id=TOKEN_PROGRAM_ID, account=temp, mint=WRAPPED_SOL_MINT, owner=payer)
        ),
        _multisig_transfer(vault, WRAPPED_SOL_MINT, temp, ms, units, NATIVE_DECIMALS, signers),
        close_account(CloseAccountParams(program_id=TOKEN_PROGRAM_ID, account=temp, dest=payer, owner=payer)),
        transfer(TransferParams(from_pubkey=payer, to_pubkey=to, lamports=units)),
    ]


def _multisig_transfer(
    source: Pubkey, mint: Pubkey, dest: Pubkey, ms: Pubkey, units: int, decimals: int, signers: list[Pubkey]
) -> Instruction:
    return transfer_checked(
        TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            source=source,
            mint=mint,
            dest=dest,
            owner=ms,
            amount=units,
            decimals=decimals,
            signers=signers,
        )
    )
