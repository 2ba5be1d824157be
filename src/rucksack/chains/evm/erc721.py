"""ERC-721: call data for ``ownerOf``/``transferFrom``, and the devnet's collection.

The devnet collection is ``contracts/RucksackLads.vy`` -- our own minimal ERC-721 (tokens 1..10,
all minted to the deployer at deploy) -- compiled once with vyper 0.4.3 (a dev dependency) into
``contracts/rucksack_lads.json`` (ABI, creation bytecode, compiler version and the SHA-256 of the
source it came from). Nothing is compiled at run time; ``tests/unit/chains/evm/test_erc721.py``
recompiles the source when vyper is installed and fails if the shipped bytecode differs.
Regenerate with ``python -m rucksack.chains.evm.erc721``.

Only the standard ABI is relied on, so the exchange's ownership check (``ownerOf``) works against
any ERC-721 collection the operator designates.
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from rucksack.chains.evm.contracts_shipped import ShippedContract

OWNER_OF_SELECTOR = function_signature_to_4byte_selector("ownerOf(uint256)")
TRANSFER_FROM_SELECTOR = function_signature_to_4byte_selector("transferFrom(address,address,uint256)")
SUPPLY = 10  # the devnet collection's tokens: ids 1..SUPPLY

CONTRACT = ShippedContract("RucksackLads.vy", "rucksack_lads.json")


def owner_of_data(token_id: int) -> bytes:
    return OWNER_OF_SELECTOR + encode(["uint256"], [token_id])


def decode_owner(result: bytes) -> str:
    """The checksummed address an ``ownerOf`` call returned."""
    (owner,) = decode(["address"], result)
    return to_checksum_address(owner)


def transfer_from_data(sender: str, receiver: str, token_id: int) -> bytes:
    return TRANSFER_FROM_SELECTOR + encode(["address", "address", "uint256"], [sender, receiver, token_id])


def artifact() -> dict[str, Any]:
    """The shipped devnet collection artifact: ``abi``, ``bytecode`` (hex), ``compiler``, ``source_sha256``."""
    return CONTRACT.artifact()


def deploy_data() -> bytes:
    """Creation code of the devnet collection (no constructor arguments)."""
    return CONTRACT.bytecode()


def source_sha256() -> str:
    return CONTRACT.source_sha256()


def compile_artifact() -> dict[str, Any]:
    """Compile ``RucksackLads.vy`` with the installed vyper (dev dependency) into the artifact's shape."""
    return CONTRACT.compile_artifact()


if __name__ == "__main__":  # regenerate the artifact beside the source
    print(f"wrote {CONTRACT.regenerate()}")
