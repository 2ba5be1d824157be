"""Sending from a device: the same prepare -> review -> submit path as ``rucksack.wallet.send``,
with the device signing instead of a keystore key.

Invariants:

- The result is a ``rucksack.wallet.send.Prepared``, so ``Prepared.submit`` applies the same rule
  (``review.enforce``: flags need the explicit override; a failed simulation is never sent).
- SVM: the device signs the message first (it shows its own parsed summary and the holder
  confirms), then the wallet simulates *those signed bytes*; nothing is broadcast before
  ``submit``. EVM: the wallet reviews the unsigned transaction first and asks the device only when
  the simulation succeeded.
- ``sign_svm`` works for any ``SvmSigner`` (keystore ``Keypair``s and devices alike), in the
  message's own signer order, and checks every required signer is present exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from solders.hash import Hash
from solders.message import Message
from solders.transaction import VersionedTransaction

from rucksack.chains.registry import get_chain
from rucksack.wallet import evm, svm
from rucksack.wallet.hardware.base import EVM, HardwareSigner
from rucksack.wallet.rpc import Endpoints
from rucksack.wallet.send import Prepared, resolve_amount
from rucksack.wallet.signers import SvmSigner


def sign_svm(message: Message, signers: Sequence[SvmSigner], blockhash: Hash) -> VersionedTransaction:
    """A signed legacy transaction of ``message`` (its blockhash replaced) from any ``SvmSigner``s."""
    h = message.header
    msg = Message.new_with_compiled_instructions(
        h.num_required_signatures,
        h.num_readonly_signed_accounts,
        h.num_readonly_unsigned_accounts,
        list(message.account_keys),
        blockhash,
        list(message.instructions),
    )
    return svm.sign_with(msg, signers)


def prepare_transfer_with_device(
    device: HardwareSigner, endpoints: Endpoints, chain_key: str, asset: str, to: str, amount: str, path: str
) -> Prepared:
    """Like ``rucksack.wallet.send.prepare_transfer``, from the device's account at ``path``."""
    chain = get_chain(chain_key)
    rpc = endpoints.rpc(chain.key)
    resolved, units = resolve_amount(chain, rpc, asset, amount)
    if chain.is_svm:
        signer = device.svm_signer(path)
        msg = svm.transfer_message(rpc, chain, signer.pubkey(), to, resolved, units)
        tx = sign_svm(msg, [signer], svm.latest_blockhash(rpc))
        return Prepared(chain, rpc, svm.review(rpc, chain, tx), tx)
    sender = device.get_address(EVM, path)
    unsigned = evm.transfer_tx(rpc, chain, sender, to, resolved, units)
    review = evm.review(rpc, chain, unsigned, sender)
    raw = device.sign_evm_transaction(path, unsigned) if review.ok else b""
    return Prepared(chain, rpc, review, raw)


def send_with_device(
    device: HardwareSigner,
    endpoints: Endpoints,
    chain_key: str,
    asset: str,
    to: str,
    amount: str,
    path: str,
    *,
    allow_flagged: bool = False,
) -> dict[str, Any]:
    """Prepare, then submit under the review rule; returns ``submit``'s result plus the review."""
    prepared = prepare_transfer_with_device(device, endpoints, chain_key, asset, to, amount, path)
    result = prepared.submit(allow_flagged=allow_flagged)
    return {**result, "review": prepared.review.to_json()}
