"""Our own Vyper contracts as shipped artifacts: compiled once, checked against their source.

Each devnet contract (``contracts/<Name>.vy``) ships with a JSON artifact beside it -- ABI,
creation bytecode, compiler version and the SHA-256 of the source it came from -- so nothing is
compiled at run time. A test recompiles each source when vyper (a dev dependency) is installed and
fails if the shipped bytecode differs; ``python -m rucksack.chains.evm.erc20`` (or ``erc721``)
regenerates one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

CONTRACTS = resources.files("rucksack.chains.evm") / "contracts"


@dataclass(frozen=True)
class ShippedContract:
    source_name: str  # e.g. "UsdcLike.vy"
    artifact_name: str  # e.g. "usdc_like.json"

    def artifact(self) -> dict[str, Any]:
        """The shipped artifact: ``abi``, ``bytecode`` (hex), ``compiler``, ``source_sha256``."""
        return _load(self.artifact_name)

    def bytecode(self) -> bytes:
        return bytes.fromhex(self.artifact()["bytecode"].removeprefix("0x"))

    def source_sha256(self) -> str:
        return hashlib.sha256((CONTRACTS / self.source_name).read_bytes()).hexdigest()

    def compile_artifact(self) -> dict[str, Any]:
        """Compile the source with the installed vyper (dev dependency) into the artifact's shape."""
        import vyper  # dev-only: imported here so run time never needs a compiler

        source = (CONTRACTS / self.source_name).read_text(encoding="utf-8")
        out = vyper.compile_code(source, output_formats=["abi", "bytecode"])
        return {
            "contract": self.source_name,
            "compiler": f"vyper {vyper.__version__}",
            "source_sha256": self.source_sha256(),
            "abi": out["abi"],
            "bytecode": out["bytecode"],
        }

    def regenerate(self) -> Path:
        """Write a freshly compiled artifact beside the source; its path."""
        path = Path(str(CONTRACTS / self.artifact_name))
        path.write_text(json.dumps(self.compile_artifact(), indent=1) + "\n", encoding="utf-8")
        return path


@cache
def _load(artifact_name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CONTRACTS / artifact_name).read_text(encoding="utf-8"))
    return loaded
