"""Prepare -> review -> (confirm) -> submit, for any chain, from an unlocked ``Wallet``.

``prepare_*`` signs the transaction locally and simulates exactly those bytes; nothing reaches
the chain until ``Prepared.submit``, which applies ``review.enforce`` first. So every path that
sends -- the CLI's ``send`` and the library calls for arbitrary instructions or contract calls --
goes through the same simulation and the same refusal rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solders.instruction import Instruction
from solders.message import Message
from solders.transaction import VersionedTransaction

from rucksack.chains.addresses import validate_evm_address, validate_svm_address
from rucksack.chains.registry import Chain, get_chain
from rucksack.wallet import evm, svm
from rucksack.wallet.keys import EVM, SVM
from rucksack.wallet.keystore import Wallet
from rucksack.wallet.review import Review, enforce, parse_units
from rucksack.wallet.rpc import Endpoints, Rpc


@dataclass
class Prepared:
    chain: Chain
    rpc: Rpc
    review: Review
    signed: VersionedTransaction | bytes  # SVM transaction, or EVM raw bytes

    def submit(self, *, allow_flagged: bool = False) -> dict[str, Any]:
        enforce(self.review, allow_flagged=allow_flagged)
        if isinstance(self.signed, VersionedTransaction):
            return {"chain": self.chain.key, "signature": svm.send(self.rpc, self.signed)}
        receipt = evm.send(self.rpc, self.signed)
        return {
            "chain": self.chain.key,
            "txHash": receipt["transactionHash"],
            "gasUsed": int(receipt["gasUsed"], 16),
            "effectiveGasPrice": int(receipt["effectiveGasPrice"], 16),
        }


def resolve_asset(chain: Chain, asset: str) -> str:
    """``native``/the native symbol -> "native"; the registry token's symbol -> its address; else an
    address, validated for the chain's family."""
    if asset.lower() == "native" or asset.upper() == chain.native_symbol:
        return "native"
    if asset.upper() == chain.token.symbol:
        return chain.token.address
    return validate_svm_address(asset) if chain.is_svm else validate_evm_address(asset)


def asset_decimals(chain: Chain, rpc: Rpc, asset: str) -> int:
    if asset == "native":
        return chain.native_decimals
    if asset == chain.token.address:
        return chain.token.decimals
    if chain.is_svm:
        dec = svm._mint_decimals(rpc, chain, {asset}).get(asset)
        if dec is None:
            raise ValueError(f"{asset} is not a token mint on {chain.key}")
        return dec
    return evm.token_decimals(rpc, chain, asset)


def resolve_amount(chain: Chain, rpc: Rpc, asset: str, amount: str) -> tuple[str, int]:
    """``asset`` resolved (``resolve_asset``) and the decimal ``amount`` in its base units (exact:
    more decimals than the asset has is an error, never a rounding)."""
    resolved = resolve_asset(chain, asset)
    return resolved, parse_units(amount, asset_decimals(chain, rpc, resolved))


def prepare_transfer(
    wallet: Wallet, endpoints: Endpoints, chain_key: str, asset: str, to: str, amount: str, account: int = 0
) -> Prepared:
    chain = get_chain(chain_key)
    rpc = endpoints.rpc(chain.key)
    resolved, units = resolve_amount(chain, rpc, asset, amount)
    if chain.is_svm:
        kp = wallet.signer(wallet.account(SVM, account))
        msg = svm.transfer_message(rpc, chain, kp.pubkey(), to, resolved, units)
        return _svm(chain, rpc, msg, [kp])
    acct = wallet.signer(wallet.account(EVM, account))
    tx = evm.transfer_tx(rpc, chain, acct.address, to, resolved, units)
    return _evm(chain, rpc, tx, acct)


def prepare_svm(
    wallet: Wallet, endpoints: Endpoints, chain_key: str, instructions: list[Instruction], account: int = 0
) -> Prepared:
    """Any instructions, fee-paid and signed by the wallet's account (reviewed like a transfer)."""
    chain = get_chain(chain_key)
    if not chain.is_svm:
        raise ValueError(f"{chain.key} is not an SVM chain")
    kp = wallet.signer(wallet.account(SVM, account))
    return _svm(chain, endpoints.rpc(chain.key), Message(instructions, kp.pubkey()), [kp])


def prepare_evm_call(
    wallet: Wallet, endpoints: Endpoints, chain_key: str, to: str | None, data: bytes, value: int = 0, account: int = 0
) -> Prepared:
    chain = get_chain(chain_key)
    if not chain.is_evm:
        raise ValueError(f"{chain.key} is not an EVM chain")
    rpc = endpoints.rpc(chain.key)
    acct = wallet.signer(wallet.account(EVM, account))
    return _evm(chain, rpc, evm.call_tx(rpc, chain, acct.address, to, data, value), acct)


def _svm(chain: Chain, rpc: Rpc, msg: Message, signers: list[Any]) -> Prepared:
    tx = svm.sign(rpc, msg, signers)
    return Prepared(chain, rpc, svm.review(rpc, chain, tx), tx)


def _evm(chain: Chain, rpc: Rpc, tx: dict[str, Any], acct: Any) -> Prepared:
    review = evm.review(rpc, chain, tx, acct.address)
    return Prepared(chain, rpc, review, evm.sign(tx, acct))
