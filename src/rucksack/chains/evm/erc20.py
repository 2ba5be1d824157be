"""ERC-20: call data for ``transfer``/``balanceOf``, the ``Transfer`` event, and the devnet token.

The devnet token is ``contracts/UsdcLike.vy`` -- our own minimal ERC-20 (6 decimals, deployer may
mint) -- compiled once with vyper 0.4.3 (a dev dependency) into ``contracts/usdc_like.json``
(ABI, creation bytecode, compiler version and the SHA-256 of the source it came from). Nothing is
compiled at run time; ``tests/unit/chains/evm/test_erc20.py`` recompiles the source when vyper is
installed and fails if the shipped bytecode differs. Regenerate with
``python -m rucksack.chains.evm.erc20``.

Only the standard ABI is relied on, so the same code talks to any real ERC-20 (USDC included).
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from rucksack.chains.evm.contracts_shipped import ShippedContract

TRANSFER_SELECTOR = function_signature_to_4byte_selector("transfer(address,uint256)")
BALANCE_OF_SELECTOR = function_signature_to_4byte_selector("balanceOf(address)")
MINT_SELECTOR = function_signature_to_4byte_selector("mint(address,uint256)")
TRANSFER_TOPIC = keccak(text="Transfer(address,address,uint256)")

CONTRACT = ShippedContract("UsdcLike.vy", "usdc_like.json")


def transfer_data(recipient: str, amount: int) -> bytes:
    return TRANSFER_SELECTOR + encode(["address", "uint256"], [recipient, amount])


def mint_data(recipient: str, amount: int) -> bytes:
    return MINT_SELECTOR + encode(["address", "uint256"], [recipient, amount])


def balance_of_data(owner: str) -> bytes:
    return BALANCE_OF_SELECTOR + encode(["address"], [owner])


def decode_transfer_data(data: bytes) -> tuple[str, int] | None:
    """``(recipient, amount)`` when ``data`` is exactly a ``transfer(address,uint256)`` call, else None."""
    if len(data) != 4 + 64 or data[:4] != TRANSFER_SELECTOR:
        return None
    recipient, amount = decode(["address", "uint256"], data[4:])
    return to_checksum_address(recipient), int(amount)


def decode_transfer_log(topics: list[bytes], data: bytes) -> tuple[str, str, int] | None:
    """``(sender, recipient, amount)`` of a ``Transfer`` log, else None."""
    if len(topics) != 3 or topics[0] != TRANSFER_TOPIC or len(data) != 32:
        return None
    sender = to_checksum_address(topics[1][-20:])
    recipient = to_checksum_address(topics[2][-20:])
    return sender, recipient, int.from_bytes(data, "big")


def artifact() -> dict[str, Any]:
    """The shipped devnet token artifact: ``abi``, ``bytecode`` (hex), ``compiler``, ``source_sha256``."""
    return CONTRACT.artifact()


def deploy_data(initial_supply: int) -> bytes:
    """Creation code + constructor argument for the devnet token."""
    return CONTRACT.bytecode() + encode(["uint256"], [initial_supply])


def source_sha256() -> str:
    return CONTRACT.source_sha256()


def compile_artifact() -> dict[str, Any]:
    """Compile ``UsdcLike.vy`` with the installed vyper (dev dependency) into the artifact's shape."""
    return CONTRACT.compile_artifact()


if __name__ == "__main__":  # regenerate the artifact beside the source
    print(f"wrote {CONTRACT.regenerate()}")
