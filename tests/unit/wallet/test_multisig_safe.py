"""Safe pieces that need no chain: the EIP-712 SafeTx hash against safe-eth-py's own ``SafeTx``
model (an independent implementation), signature recovery and ordering, the owner linked list,
owner-set validation, CREATE2 prediction inputs, artifact loading."""

from __future__ import annotations

import pytest
from eth_account import Account
from safe_eth.safe.safe_tx import SafeTx

from rucksack.chains.evm import erc20
from rucksack.wallet.multisig import safe as S
from rucksack.wallet.signers import LocalEvmSigner

SAFE = "0x" + "ab" * 20


@pytest.mark.parametrize(
    ("to", "value", "data", "operation", "nonce", "chain_id"),
    [
        ("0x" + "22" * 20, 10**18, b"", S.CALL, 0, 8453),
        ("0x" + "33" * 20, 0, erc20.transfer_data("0x" + "44" * 20, 7_500_000), S.CALL, 17, 1),
        (SAFE, 0, S.calldata("changeThreshold(uint256)", ["uint256"], [1]), S.CALL, 3, 137),
        ("0x" + "55" * 20, 1, b"\x00" * 100, S.DELEGATECALL, 2**64, 10),
    ],
)
def test_offline_hash_matches_safe_eth_py(
    to: str, value: int, data: bytes, operation: int, nonce: int, chain_id: int
) -> None:
    stx = S.safe_tx(to, value, data, operation, nonce)
    theirs = SafeTx(
        None,  # type: ignore[arg-type]  # no client: nonce, version and chain id are given
        SAFE,  # type: ignore[arg-type]
        stx["to"],
        value,
        data,
        operation,
        0,
        0,
        0,
        None,
        None,
        safe_nonce=nonce,
        safe_version="1.4.1",
        chain_id=chain_id,
    )
    assert S.offline_hash(S.typed_data(chain_id, SAFE, stx)) == bytes(theirs.safe_tx_hash)


def test_signatures_recover_and_sort_by_owner() -> None:
    accounts = [Account.create() for _ in range(3)]
    typed = S.typed_data(1, SAFE, S.safe_tx("0x" + "22" * 20, 1, b"", S.CALL, 0))
    sigs = []
    for a in accounts:
        sig = LocalEvmSigner(a).sign_typed_data(typed)
        assert len(sig) == 65 and sig[64] in (27, 28)
        assert S.recover(typed, sig) == a.address
        sigs.append({"owner": a.address, "signature": "0x" + sig.hex()})
    packed = S.packed_signatures(sigs)
    order = sorted(accounts, key=lambda a: int(a.address, 16))
    assert [S.recover(typed, packed[i * 65 : (i + 1) * 65]) for i in range(3)] == [a.address for a in order]
    with pytest.raises(S.SafeError, match="v 27 or 28"):
        S.recover(typed, packed[:64] + b"\x1f")  # an eth_sign-style v is not an EIP-712 signature


def test_owner_list_and_validation() -> None:
    owners = [Account.create().address for _ in range(3)]
    assert S.prev_owner(owners, owners[0]) == S.SENTINEL
    assert S.prev_owner(owners, owners[2]) == owners[1]
    with pytest.raises(S.SafeError, match="not an owner"):
        S.prev_owner(owners, "0x" + "99" * 20)
    with pytest.raises(S.SafeError, match="distinct"):
        S.check_owners([owners[0], owners[0].lower()], 1)
    with pytest.raises(S.SafeError, match="threshold"):
        S.check_owners(owners, 4)
    with pytest.raises(S.SafeError, match="cannot be owners"):
        S.check_owners([owners[0], S.SENTINEL], 1)
    assert S.derived_salt_nonce(owners, 2) == S.derived_salt_nonce(list(reversed(owners)), 2)
    assert S.derived_salt_nonce(owners, 2) != S.derived_salt_nonce(owners, 3)


def test_artifacts_are_the_packaged_bytecode() -> None:
    assert len(S.creation_code("singleton")) > 20_000
    for role in ("singleton", "factory", "handler", "proxy"):
        assert S.runtime_code(role) and S.creation_code(role).startswith(b"\x60\x80")
    dep = S.Deployment("0x" + "01" * 20, "0x" + "02" * 20, "0x" + "03" * 20)
    init = S.setup_data([Account.create().address], 1, dep.handler)
    a = S.predict_address(dep, init, 1)
    assert a != S.predict_address(dep, init, 2) and a == S.predict_address(dep, init, 1)
