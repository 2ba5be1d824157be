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

import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

OWNER_OF_SELECTOR = function_signature_to_4byte_selector("ownerOf(uint256)")
TRANSFER_FROM_SELECTOR = function_signature_to_4byte_selector("transferFrom(address,address,uint256)")
SUPPLY = 10  # the devnet collection's tokens: ids 1..SUPPLY

_CONTRACTS = resources.files("rucksack.chains.evm") / "contracts"
SOURCE_NAME = "RucksackLads.vy"
ARTIFACT_NAME = "rucksack_lads.json"


def owner_of_data(token_id: int) -> bytes:
    return OWNER_OF_SELECTOR + encode(["uint256"], [token_id])


def decode_owner(result: bytes) -> str:
    """The checksummed address an ``ownerOf`` call returned."""
    (owner,) = decode(["address"], result)
    return to_checksum_address(owner)


def transfer_from_data(sender: str, receiver: str, token_id: int) -> bytes:
    return TRANSFER_FROM_SELECTOR + encode(["address", "address", "uint256"], [sender, receiver, token_id])


@cache
def artifact() -> dict[str, Any]:
    """The shipped devnet collection artifact: ``abi``, ``bytecode`` (hex), ``compiler``, ``source_sha256``."""
    loaded: dict[str, Any] = json.loads((_CONTRACTS / ARTIFACT_NAME).read_text(encoding="utf-8"))
    return loaded


def deploy_data() -> bytes:
    """Creation code of the devnet collection (no constructor arguments)."""
    return bytes.fromhex(artifact()["bytecode"].removeprefix("0x"))


def source_sha256() -> str:
    return hashlib.sha256((_CONTRACTS / SOURCE_NAME).read_bytes()).hexdigest()


def compile_artifact() -> dict[str, Any]:
    """Compile ``RucksackLads.vy`` with the installed vyper (dev dependency) into the artifact's shape."""
    import vyper  # dev-only: imported here so run time never needs a compiler

    source = (_CONTRACTS / SOURCE_NAME).read_text(encoding="utf-8")
    out = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    return {
        "contract": SOURCE_NAME,
        "compiler": f"vyper {vyper.__version__}",
        "source_sha256": source_sha256(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
    }


if __name__ == "__main__":  # regenerate the artifact beside the source
    from pathlib import Path

    path = Path(str(_CONTRACTS / ARTIFACT_NAME))
    path.write_text(json.dumps(compile_artifact(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")
