from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from rucksack.chains.addresses import InvalidAddress, is_valid_address, validate_address, validate_svm_address

SOL_ADDR = "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk"
EVM_ADDR = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"


def test_valid_addresses_come_back_canonical() -> None:
    assert validate_address("solana", SOL_ADDR) == SOL_ADDR
    assert validate_address("eclipse", "11111111111111111111111111111111") == "11111111111111111111111111111111"
    assert validate_address("base", EVM_ADDR) == EVM_ADDR
    assert validate_address("base", EVM_ADDR.lower(), strict=False) == EVM_ADDR
    assert validate_address("polygon", "0x" + "0" * 40) == "0x" + "0" * 40  # digits only: no letters to checksum


@pytest.mark.parametrize(
    ("chain", "text", "reason"),
    [
        ("solana", "", "empty"),
        ("solana", EVM_ADDR, "EVM address"),
        ("solana", SOL_ADDR[:-1] + "0", "not base58"),
        ("solana", SOL_ADDR[:-1] + "l", "not base58"),
        ("solana", SOL_ADDR[:20], "bytes"),
        ("solana", SOL_ADDR + "z", "bytes"),
        ("solana", "1" + SOL_ADDR, "bytes"),
        ("ethereum", SOL_ADDR, "Solana"),
        ("ethereum", EVM_ADDR[2:], "0x prefix"),
        ("ethereum", EVM_ADDR[:-1], "40 hex"),
        ("ethereum", EVM_ADDR + "0", "40 hex"),
        ("ethereum", EVM_ADDR.replace("0x", "0X"), "40 hex"),
        ("ethereum", EVM_ADDR[:-1] + "g", "40 hex"),
        ("base", EVM_ADDR.replace("Ef", "ef"), "checksum"),
        ("arbitrum", EVM_ADDR.lower(), "no EIP-55 checksum"),
    ],
)
def test_invalid_addresses_say_why(chain: str, text: str, reason: str) -> None:
    with pytest.raises(InvalidAddress, match=reason):
        validate_address(chain, text)
    assert not is_valid_address(chain, text)


def test_program_derived_addresses_are_off_curve() -> None:
    pda, _bump = Pubkey.find_program_address([b"vault"], Pubkey.from_string("11111111111111111111111111111111"))
    assert validate_svm_address(str(pda)) == str(pda)
    with pytest.raises(InvalidAddress, match="program-derived"):
        validate_svm_address(str(pda), require_on_curve=True)
    assert validate_svm_address(SOL_ADDR, require_on_curve=True) == SOL_ADDR
