"""The wallet against ``rucksack devnet``: real signed sends on all seven chains, each simulated
first with the predicted balance changes checked against what the chain then shows; flagged
transactions (unknown program, approvals) refused, then sent with the explicit override; a
failing simulation refused even with it; the recovery scan finding funds on legacy paths.

One devnet per module (as tests/integration/test_devnet.py); keystores use the cheap TEST KDF.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import approve
from spl.token.models import ApproveParams

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.registry import evm_chains, get_chain, svm_chains
from rucksack.chains.svm import transfers as svm_codec
from rucksack.wallet import evm, recovery, send, svm
from rucksack.wallet.keys import EVM, SVM, Secret, account_ref, default_accounts, generate_mnemonic
from rucksack.wallet.keystore import TEST, Wallet
from rucksack.wallet.review import APPROVAL, UNKNOWN_PROGRAM, Refused
from rucksack.wallet.rpc import Endpoints
from tests.integration.wallet_harness import fund_evm, running_devnet

MEMO_V1 = Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")  # deployed, deprecated, not known


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet() as net:
        yield net


@pytest.fixture(scope="module")
def endpoints(devnet: Devnet) -> Endpoints:
    return Endpoints(f"http://127.0.0.1:{devnet.port}")


def fund_svm(endpoints: Endpoints, chain: str, owner: str, lamports: int, usdc: int) -> None:
    rpc = endpoints.rpc(chain)
    rpc.call("requestAirdrop", owner, lamports)
    if usdc:
        c = get_chain(chain)
        faucet = genesis.svm_faucet()
        msg = svm_codec.token_transfer_message(
            faucet.pubkey(), Pubkey.from_string(owner), Pubkey.from_string(c.token.address), usdc, c.token.decimals
        )
        svm.send(rpc, svm.sign(rpc, msg, [faucet]))


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory, endpoints: Endpoints) -> Wallet:
    secret = generate_mnemonic(24)
    w = Wallet.create(
        tmp_path_factory.mktemp("w") / "wallet.json", secret, "pw", default_accounts(secret), profile=TEST
    )
    for c in svm_chains():
        fund_svm(endpoints, c.key, w.account(SVM).address, 3 * 10**9, 100 * 10**6)
    for c in evm_chains():
        fund_evm(endpoints, c.key, w.account(EVM).address, 2 * 10**18, 100 * 10**6)
    return w


def observed(endpoints: Endpoints, chain: str, accounts: list[str]) -> dict[tuple[str, str], int]:
    c = get_chain(chain)
    rpc = endpoints.rpc(chain)
    out = {}
    for a in accounts:
        rows = svm.balances(rpc, c, a) if c.is_svm else evm.balances(rpc, c, a)
        for row in rows:
            out[(a, row["asset"])] = int(row["units"])
    return out


@pytest.mark.parametrize("chain", [c.key for c in svm_chains()])
@pytest.mark.parametrize("asset", ["native", "USDC"])
def test_svm_send_matches_simulation(wallet: Wallet, endpoints: Endpoints, chain: str, asset: str) -> None:
    recipient = str(Keypair().pubkey())
    amount = "0.25" if asset == "native" else "12.5"
    prepared = send.prepare_transfer(wallet, endpoints, chain, asset, recipient, amount)
    review = prepared.review
    assert review.ok and not review.flags, review.text()
    me = wallet.account(SVM).address
    owners = [me, recipient]
    before = observed(endpoints, chain, owners)
    prepared.submit()
    after = observed(endpoints, chain, owners)
    sym = get_chain(chain).native_symbol
    # every predicted change of a wallet address happened exactly (fees included on SVM)
    for owner in owners:
        for asset_sym in (sym, "USDC"):
            predicted = review.delta(owner, asset_sym)
            assert after[(owner, asset_sym)] - before[(owner, asset_sym)] == predicted, (owner, asset_sym)
    if asset == "USDC":
        assert review.delta(recipient, "USDC") == 12_500_000
        assert any("new account" in c.note for c in review.changes)  # the recipient's token account (rent)
    else:
        assert review.delta(recipient, sym) == 250_000_000
        assert review.delta(me, sym) == -250_000_000 - review.fee


@pytest.mark.parametrize("chain", [c.key for c in evm_chains()])
@pytest.mark.parametrize("asset", ["native", "USDC"])
def test_evm_send_matches_simulation(wallet: Wallet, endpoints: Endpoints, chain: str, asset: str) -> None:
    to = Account.create().address
    amount = "0.125" if asset == "native" else "7.000001"
    prepared = send.prepare_transfer(wallet, endpoints, chain, asset, to, amount)
    review = prepared.review
    assert review.ok and not review.flags and not review.fee_included, review.text()
    me = wallet.account(EVM).address
    before = observed(endpoints, chain, [me, to])
    result = prepared.submit()
    after = observed(endpoints, chain, [me, to])
    sym = get_chain(chain).native_symbol
    paid = result["gasUsed"] * result["effectiveGasPrice"]
    assert 0 < paid <= review.max_fee
    for owner in (me, to):
        for a in (sym, "USDC"):
            fee = paid if (owner == me and a == sym) else 0
            assert after[(owner, a)] - before[(owner, a)] == review.delta(owner, a) - fee, (owner, a)
    assert review.delta(to, "USDC" if asset == "USDC" else sym) == (7_000_001 if asset == "USDC" else 125 * 10**15)


def test_unknown_program_refused_then_overridden(wallet: Wallet, endpoints: Endpoints) -> None:
    me = wallet.account(SVM).address
    memo = Instruction(MEMO_V1, b"hello from an unknown program", [AccountMeta(Pubkey.from_string(me), True, True)])
    prepared = send.prepare_svm(wallet, endpoints, "solana", [memo])
    assert prepared.review.ok
    assert [f.kind for f in prepared.review.flags] == [UNKNOWN_PROGRAM]
    with pytest.raises(Refused, match="unknown-program"):
        prepared.submit()
    assert "WARNINGS" in prepared.review.text()
    out = prepared.submit(allow_flagged=True)
    status = endpoints.rpc("solana").call("getSignatureStatuses", [out["signature"]])["value"][0]
    assert status["err"] is None


def test_spl_approval_flagged_and_visible_after_override(wallet: Wallet, endpoints: Endpoints) -> None:
    me = Pubkey.from_string(wallet.account(SVM).address)
    mint = Pubkey.from_string(get_chain("solana").token.address)
    ata = svm_codec.associated_token_address(me, mint)
    thief = Keypair().pubkey()
    ix = approve(ApproveParams(program_id=TOKEN_PROGRAM_ID, source=ata, delegate=thief, owner=me, amount=2**64 - 1))
    prepared = send.prepare_svm(wallet, endpoints, "solana", [ix])
    kinds = {f.kind for f in prepared.review.flags}
    assert kinds == {APPROVAL}, prepared.review.text()
    assert any(str(thief) in f.detail for f in prepared.review.flags)
    with pytest.raises(Refused):
        prepared.submit()
    prepared.submit(allow_flagged=True)
    acc = svm.get_accounts(endpoints.rpc("solana"), [str(ata)])[0]
    state = svm._token_state(acc)
    assert state is not None and state.delegate == thief


def test_evm_draining_approval_refused(wallet: Wallet, endpoints: Endpoints) -> None:
    token = get_chain("base").token.address
    spender = genesis.evm_account(5).address
    data = bytes.fromhex("095ea7b3") + bytes(12) + bytes.fromhex(spender[2:]) + (2**256 - 1).to_bytes(32, "big")
    prepared = send.prepare_evm_call(wallet, endpoints, "base", token, data)
    assert [f.kind for f in prepared.review.flags] == [APPROVAL]
    assert spender in prepared.review.flags[0].detail
    with pytest.raises(Refused, match="approval"):
        prepared.submit()
    prepared.submit(allow_flagged=True)
    me = wallet.account(EVM).address
    allowance = bytes.fromhex("dd62ed3e") + bytes(12) + bytes.fromhex(me[2:]) + bytes(12) + bytes.fromhex(spender[2:])
    out = endpoints.rpc("base").call("eth_call", {"to": token, "data": "0x" + allowance.hex()}, "latest")
    assert int(str(out), 16) == 2**256 - 1  # the chain recorded the approval sent with the override


def test_failing_simulation_refused_even_with_override(wallet: Wallet, endpoints: Endpoints) -> None:
    sol = send.prepare_transfer(wallet, endpoints, "solana", "SOL", str(Keypair().pubkey()), "1000")
    assert not sol.review.ok and "FAILED" in sol.review.text()
    with pytest.raises(Refused, match="simulation failed"):
        sol.submit(allow_flagged=True)
    token = send.prepare_transfer(wallet, endpoints, "polygon", "USDC", genesis.evm_account(3).address, "1000000")
    assert not token.review.ok
    with pytest.raises(Refused, match="simulation failed"):
        token.submit(allow_flagged=True)


def test_recovery_scan_finds_legacy_paths(endpoints: Endpoints) -> None:
    secret = generate_mnemonic(12)
    legacy_svm = account_ref(secret, SVM, "solana-legacy", 3)
    root_svm = account_ref(secret, SVM, "bip44-root", 0)
    metamask = account_ref(secret, EVM, "metamask", 2)
    ledger_live = account_ref(secret, EVM, "ledger-live", 1)
    fund_svm(endpoints, "solana", legacy_svm.address, 10**6, 0)
    fund_svm(endpoints, "solana", root_svm.address, 10**6, 5)  # token only would do too; both here
    fund_evm(endpoints, "polygon", metamask.address, 10**15, 0)
    fund_evm(endpoints, "base", ledger_live.address, 0, 10**6)
    found = recovery.scan(secret, endpoints, ["solana", "eclipse", "base", "polygon"], count=5)
    assert [f.ref for f in found] == [legacy_svm, root_svm, metamask, ledger_live]
    assert found[1].evidence == {"solana": {"native": 10**6, "token": 5}}
    assert found[2].evidence == {"polygon": {"native": 10**15, "nonce": 0, "token": 0}}
    assert found[3].evidence["base"]["token"] == 10**6
    # a fresh mnemonic with nothing on chain finds nothing
    assert recovery.scan(Secret.from_mnemonic(generate_mnemonic().mnemonic), endpoints, ["solana", "base"], 3) == []
