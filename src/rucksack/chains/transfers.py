"""The chain-neutral view of a transfer, as every codec decodes one.

A ``Transfer`` is what a signed transaction would move, read from its bytes alone (no chain
state): for SPL tokens ``recipient`` is the destination *token account* as written in the
instruction (its owner is on chain, not in the transaction); for ERC-20 it is the address passed
to ``transfer``. ``amount`` is in chain units (see ``units`` for exchange atoms). ``asset`` is
``NATIVE`` or the token's mint/contract address.
"""

from __future__ import annotations

from dataclasses import dataclass

NATIVE = "native"


@dataclass(frozen=True, slots=True)
class Transfer:
    chain: str
    asset: str  # NATIVE, or the SPL mint / ERC-20 contract address
    sender: str  # the signer whose funds move (SPL: the source token account's owner)
    recipient: str  # SVM native: wallet; SPL: destination token account; EVM: recipient address
    amount: int  # chain units


@dataclass(frozen=True, slots=True)
class Simulation:
    """The outcome of running a signed transaction against current chain state without keeping it."""

    ok: bool
    error: str | None
    logs: tuple[str, ...] = ()
    units_consumed: int | None = None  # compute units (SVM) or gas (EVM)
