"""Safe v1.4.1 2-of-3 on the devnet: real bytecode from safe-eth-py, the chain enforcing the threshold.

One devnet (base + optimism) and one deployed singleton/factory/handler per chain for the module.
Owners: A (the wallet's own key), B (the user's second device), G (a guardian). The tests run in
file order and share the Safe; each reads the Safe's nonce and balances from the chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.evm import erc20
from rucksack.chains.registry import get_chain
from rucksack.wallet import evm, send
from rucksack.wallet.keys import EVM, default_accounts, generate_mnemonic
from rucksack.wallet.keystore import TEST, Wallet
from rucksack.wallet.multisig import safe as S
from rucksack.wallet.multisig import safe_deploy as D
from rucksack.wallet.review import CONTRACT_DEPLOYMENT, UNKNOWN_CONTRACT, Refused
from rucksack.wallet.rpc import Endpoints, RpcError
from rucksack.wallet.signers import LocalEvmSigner
from tests.integration.wallet_harness import fund_evm, running_devnet

CHAIN = "base"
OTHER = "optimism"


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet(CHAIN, OTHER) as net:
        yield net


@pytest.fixture(scope="module")
def endpoints(devnet: Devnet) -> Endpoints:
    return Endpoints(f"http://127.0.0.1:{devnet.port}")


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory, endpoints: Endpoints) -> Wallet:
    secret = generate_mnemonic(12)
    w = Wallet.create(tmp_path_factory.mktemp("w") / "w.json", secret, "pw", default_accounts(secret), profile=TEST)
    w.unlock("pw")
    for chain in (CHAIN, OTHER):
        fund_evm(endpoints, chain, w.account(EVM).address, 20 * 10**18, 500 * 10**6)
    return w


class Keys:
    def __init__(self, wallet: Wallet) -> None:
        self.a: LocalAccount = wallet.signer(wallet.account(EVM))  # the wallet's own key
        self.b: LocalAccount = Account.create()  # second device
        self.g: LocalAccount = Account.create()  # guardian
        self.d: LocalAccount = Account.create()  # replacement device after losing A


@pytest.fixture(scope="module")
def keys(wallet: Wallet) -> Keys:
    return Keys(wallet)


@pytest.fixture(scope="module")
def created(wallet: Wallet, endpoints: Endpoints, keys: Keys) -> dict[str, Any]:
    dep, deployed = D.ensure_deployment(wallet, endpoints, CHAIN)
    assert [r["role"] for r in deployed] == ["singleton", "factory", "handler"]
    assert 5_000_000 < deployed[0]["gasUsed"] < 5_500_000
    creation = D.prepare_create(wallet, endpoints, CHAIN, dep, [keys.a.address, keys.b.address, keys.g.address])
    assert creation.send.review.ok and not creation.send.review.flags, creation.send.text()
    assert [f.kind for f, _ in creation.send.explained] == [UNKNOWN_CONTRACT]
    creation.send.submit()
    return creation.descriptor


def signed(proposal: dict[str, Any], rpc: Any, *who: LocalAccount) -> dict[str, Any]:
    for acct in who:
        proposal = S.add_signature(rpc, get_chain(proposal["chain"]), proposal, LocalEvmSigner(acct))
    return proposal


def raw_exec(rpc: Any, proposal: dict[str, Any], *who: LocalAccount) -> str:
    """execTransaction straight to the chain, bypassing every check of ours; returns the revert text."""
    typed = proposal["typedData"]
    sigs = [
        {
            "owner": a.address,
            "signature": "0x" + bytes(Account.sign_typed_data(a.key, full_message=typed).signature).hex(),
        }
        for a in who
    ]
    data = S.exec_data(proposal["safeTx"], S.packed_signatures(sigs))
    faucet = genesis.evm_faucet()
    with pytest.raises(RpcError) as simulated:
        rpc.call("eth_call", {"from": faucet.address, "to": proposal["safe"], "data": "0x" + data.hex()}, "latest")
    tx = evm.call_tx(rpc, get_chain(proposal["chain"]), faucet.address, proposal["safe"], data)
    tx["gas"] = 500_000
    with pytest.raises(RpcError, match="reverted on chain"):
        evm.send(rpc, evm.sign(tx, faucet))
    return simulated.value.message


def balances(rpc: Any, chain: str, *who: str) -> dict[tuple[str, str], int]:
    out = {}
    for a in who:
        for row in evm.balances(rpc, get_chain(chain), a):
            out[(a, row["asset"])] = int(row["units"])
    return out


def execute(wallet: Wallet, endpoints: Endpoints, proposal: dict[str, Any], *watch: str) -> dict[str, Any]:
    """Execute through the reviewed path; every predicted change equals the observed one."""
    ss, _ = D.prepare_execute(wallet, endpoints, proposal)
    assert ss.review.ok and not ss.review.flags, ss.text()
    rpc = endpoints.rpc(proposal["chain"])
    executor = wallet.account(EVM).address
    before = balances(rpc, proposal["chain"], *watch)
    result = ss.submit()
    after = balances(rpc, proposal["chain"], *watch)
    for key in before:
        predicted = ss.review.delta(*key)
        if key[0] == executor and key[1] == "ETH":
            predicted -= result["gasUsed"] * result["effectiveGasPrice"]
        assert after[key] - before[key] == predicted, key
    return D.executed(proposal, result)


def test_deploy_create_and_descriptor(created: dict[str, Any], endpoints: Endpoints, keys: Keys) -> None:
    rpc = endpoints.rpc(CHAIN)
    assert created["chainId"] == get_chain(CHAIN).chain_id and created["safeVersion"] == "1.4.1"
    assert not S.deployment_problems(rpc, S.Deployment.from_json(created))
    S.verify_safe(rpc, created["safe"], created["singleton"])
    state = S.read_state(rpc, created["safe"])
    assert state.owners == [keys.a.address, keys.b.address, keys.g.address] == created["owners"]
    assert (state.threshold, state.nonce, state.version) == (2, 0, "1.4.1")
    slot = int("6c9a6c4a39284e37ed1cf53d337577d14212a4870fb976a4366c693b939918d5", 16)
    handler = rpc.call("eth_getStorageAt", created["safe"], hex(slot), "latest")
    assert int(handler, 16) == int(created["handler"], 16)


def test_deploy_review_explains_only_artifact_code(wallet: Wallet, endpoints: Endpoints) -> None:
    ss = D.prepare_deploy(wallet, endpoints, CHAIN, "handler")
    assert not ss.review.flags and [f.kind for f, _ in ss.explained] == [CONTRACT_DEPLOYMENT]
    other = send.prepare_evm_call(wallet, endpoints, CHAIN, None, S.creation_code("handler") + b"\x00")
    assert [f.kind for f in other.review.flags] == [CONTRACT_DEPLOYMENT]  # general review untouched


def test_same_code_on_another_chain(wallet: Wallet, endpoints: Endpoints, keys: Keys, created: dict[str, Any]) -> None:
    dep, _ = D.ensure_deployment(wallet, endpoints, OTHER)
    creation = D.prepare_create(wallet, endpoints, OTHER, dep, [keys.a.address, keys.b.address, keys.g.address], 2, 7)
    creation.send.submit()
    desc = creation.descriptor
    assert desc["chainId"] == get_chain(OTHER).chain_id != created["chainId"]
    rpc = endpoints.rpc(OTHER)
    D.prepare_fund(wallet, endpoints, desc, "ETH", "1").submit()
    to = Account.create().address
    p = signed(S.new_proposal(rpc, get_chain(OTHER), desc, to, 10**17, b""), rpc, keys.b, keys.g)
    assert p["typedData"]["domain"]["chainId"] == get_chain(OTHER).chain_id
    execute(wallet, endpoints, p, desc["safe"], to)
    assert int(rpc.call("eth_getBalance", to, "latest"), 16) == 10**17


def test_fund_with_eth_and_usdc(wallet: Wallet, endpoints: Endpoints, created: dict[str, Any]) -> None:
    rpc, safe, me = endpoints.rpc(CHAIN), created["safe"], wallet.account(EVM).address
    # a plain `wallet send` of ETH to a contract gets an estimated gas limit (the Safe's receive
    # needs more than 21,000), but the general review does not wave value to a contract through
    plain = send.prepare_transfer(wallet, endpoints, CHAIN, "ETH", safe, "1")
    assert plain.review.ok and [f.kind for f in plain.review.flags] == [UNKNOWN_CONTRACT]
    for asset, amount, sym, units in (("ETH", "5", "ETH", 5 * 10**18), ("USDC", "100", "USDC", 100 * 10**6)):
        ss = D.prepare_fund(wallet, endpoints, created, asset, amount)
        assert ss.review.ok and not ss.review.flags, ss.text()
        before = balances(rpc, CHAIN, safe, me)
        result = ss.submit()
        after = balances(rpc, CHAIN, safe, me)
        assert after[(safe, sym)] - before[(safe, sym)] == ss.review.delta(safe, sym) == units
        fee = result["gasUsed"] * result["effectiveGasPrice"]
        assert after[(me, "ETH")] - before[(me, "ETH")] == ss.review.delta(me, "ETH") - fee
    # a plain `wallet send` of USDC to the Safe is an ordinary, unflagged token transfer
    usdc = send.prepare_transfer(wallet, endpoints, CHAIN, "USDC", safe, "1")
    assert usdc.review.ok and not usdc.review.flags
    usdc.submit()


def test_one_signature_refused_by_chain_two_accepted(
    wallet: Wallet, endpoints: Endpoints, keys: Keys, created: dict[str, Any]
) -> None:
    rpc, chain = endpoints.rpc(CHAIN), get_chain(CHAIN)
    to = Account.create().address
    p = S.new_proposal(rpc, chain, created, to, 10**18, b"")
    assert p["summary"] == [f"Safe {created['safe']} sends 1 ETH to {to}"]
    one = signed(p, rpc, keys.a)
    assert "GS020" in raw_exec(rpc, one, keys.a)  # signatures data too short: the contract refuses
    with pytest.raises(S.SafeError, match="needs 2"):
        D.prepare_execute(wallet, endpoints, one)
    assert S.read_state(rpc, created["safe"]).nonce == 0
    assert S.status(rpc, chain, one)["status"] == "needs 1 more signature(s)"
    two = signed(one, rpc, keys.b)
    assert S.status(rpc, chain, two)["status"] == "ready to execute"
    done = execute(wallet, endpoints, two, created["safe"], to, wallet.account(EVM).address)
    assert int(rpc.call("eth_getBalance", to, "latest"), 16) == 10**18
    assert S.read_state(rpc, created["safe"]).nonce == 1
    assert S.status(rpc, chain, done)["status"] == "executed"


@pytest.mark.parametrize("pair", ["ag", "bg", "ab"])
def test_any_two_of_three(wallet: Wallet, endpoints: Endpoints, keys: Keys, created: dict[str, Any], pair: str) -> None:
    rpc, chain = endpoints.rpc(CHAIN), get_chain(CHAIN)
    to = Account.create().address
    token = chain.token.address
    p = S.new_proposal(rpc, chain, created, token, 0, erc20.transfer_data(to, 7_500_000), kind="erc20")
    assert p["summary"] == [f"Safe {created['safe']} sends 7.5 USDC to {to}"]
    p = signed(p, rpc, *(getattr(keys, k) for k in pair))
    execute(wallet, endpoints, p, created["safe"], to)
    assert evm.token_balance(rpc, token, to) == 7_500_000


def test_approve_refuses_non_owner_and_tampering(endpoints: Endpoints, keys: Keys, created: dict[str, Any]) -> None:
    rpc, chain = endpoints.rpc(CHAIN), get_chain(CHAIN)
    p = S.new_proposal(rpc, chain, created, keys.d.address, 10**17, b"")
    with pytest.raises(S.SafeError, match="not an owner"):
        signed(p, rpc, keys.d)
    one = signed(p, rpc, keys.a)
    bumped = {**one, "safeTx": {**one["safeTx"], "value": str(10**19)}}
    with pytest.raises(S.SafeError, match="tampered"):
        signed(bumped, rpc, keys.b)
    # consistently re-hashed, but A's signature was over the original: it no longer recovers to A
    typed = S.typed_data(chain.chain_id or 0, created["safe"], bumped["safeTx"])
    rehashed = {**bumped, "typedData": typed, "safeTxHash": "0x" + S.offline_hash(typed).hex()}
    with pytest.raises(S.SafeError, match="recovers to"):
        signed(rehashed, rpc, keys.b)
    with pytest.raises(S.SafeError, match="already signed"):
        signed(one, rpc, keys.a)


def test_delegatecall_needs_override(wallet: Wallet, endpoints: Endpoints, keys: Keys, created: dict[str, Any]) -> None:
    rpc, chain = endpoints.rpc(CHAIN), get_chain(CHAIN)
    target = keys.d.address  # no code: the delegatecall would succeed, so only our flag stops it
    with pytest.raises(S.SafeError, match="DELEGATECALL"):
        S.new_proposal(rpc, chain, created, target, 0, b"", operation=S.DELEGATECALL)
    p = S.new_proposal(rpc, chain, created, target, 0, b"", operation=S.DELEGATECALL, allow_delegatecall=True)
    assert [f["kind"] for f in p["flags"]] == [S.DELEGATECALL_FLAG]
    ss, _ = D.prepare_execute(wallet, endpoints, signed(p, rpc, keys.a, keys.b))
    assert ss.review.ok and [f.kind for f in ss.review.flags] == [S.DELEGATECALL_FLAG]
    with pytest.raises(Refused, match="delegatecall"):
        ss.submit()


def test_stale_nonce_is_a_clear_error(
    wallet: Wallet, endpoints: Endpoints, keys: Keys, created: dict[str, Any]
) -> None:
    rpc, chain = endpoints.rpc(CHAIN), get_chain(CHAIN)
    first = signed(S.new_proposal(rpc, chain, created, keys.b.address, 10**15, b""), rpc, keys.a, keys.b)
    second = signed(S.new_proposal(rpc, chain, created, keys.g.address, 10**15, b""), rpc, keys.a, keys.g)
    execute(wallet, endpoints, first)
    with pytest.raises(S.SafeError, match="stale proposal"):
        D.prepare_execute(wallet, endpoints, second)
    assert "stale" in S.status(rpc, chain, second)["status"]


def test_guardian_swaps_lost_key(wallet: Wallet, endpoints: Endpoints, keys: Keys, created: dict[str, Any]) -> None:
    rpc, chain, safe = endpoints.rpc(CHAIN), get_chain(CHAIN), created["safe"]
    owners = S.read_state(rpc, safe).owners
    assert S.prev_owner(owners, keys.a.address) == S.SENTINEL
    data = S.calldata(
        "swapOwner(address,address,address)", ["address"] * 3, [S.SENTINEL, keys.a.address, keys.d.address]
    )
    p = S.new_proposal(rpc, chain, created, safe, 0, data, kind="swap-owner")
    assert p["summary"] == [f"Safe {safe} swaps owner {keys.a.address} -> {keys.d.address}"] and not p["flags"]
    execute(wallet, endpoints, signed(p, rpc, keys.b, keys.g))  # key A is lost: device + guardian
    state = S.read_state(rpc, safe)
    assert state.owners == [keys.d.address, keys.b.address, keys.g.address] and state.threshold == 2
    # D + device move funds
    to = Account.create().address
    q = S.new_proposal(rpc, chain, created, to, 10**17, b"")
    execute(wallet, endpoints, signed(q, rpc, keys.d, keys.b), safe, to)
    # A's signature no longer counts: approve refuses it, and the chain refuses it too
    r = S.new_proposal(rpc, chain, created, keys.a.address, 10**17, b"")
    with pytest.raises(S.SafeError, match="not an owner"):
        signed(r, rpc, keys.a)
    assert "GS026" in raw_exec(rpc, r, keys.a, keys.b)
    assert S.read_state(rpc, safe).nonce == state.nonce + 1
