"""SPL Token 2-of-3 multisig against the devnet: the chain, not our code, enforces the threshold.

- A transaction whose multisig instruction lists one owner (fully signed, sent raw with
  ``skipPreflight``, none of our checks involved) fails on chain with ``MissingRequiredSignature``;
  the same with two owners succeeds -- for the USDC vault and for the wSOL vault.
- Through the library: any two of the three owners pay out USDC and SOL; the simulated balance
  changes equal the observed ones; a message changed after a signature, a non-owner, missing
  signatures and an expired blockhash are refused.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount
from spl.token.constants import TOKEN_PROGRAM_ID

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.registry import get_chain
from rucksack.chains.svm import transfers as codec
from rucksack.wallet import svm
from rucksack.wallet.keys import SVM, default_accounts, generate_mnemonic
from rucksack.wallet.keystore import TEST, Wallet
from rucksack.wallet.multisig import spl
from rucksack.wallet.review import Review
from rucksack.wallet.rpc import Rpc
from tests.integration.wallet_harness import running_devnet

CHAIN = "solana"
USDC = 10**6
SOL = 10**9


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet(CHAIN, "eclipse") as net:
        yield net


@pytest.fixture(scope="module")
def rpc(devnet: Devnet) -> Rpc:
    return Rpc(devnet.url(CHAIN))


@pytest.fixture(scope="module")
def owners(tmp_path_factory: pytest.TempPathFactory, rpc: Rpc) -> list[Keypair]:
    """Three owners, each from its own keystore (the CLI's path to a signer)."""
    out = []
    for n in range(3):
        secret = generate_mnemonic(12)
        w = Wallet.create(
            tmp_path_factory.mktemp(f"o{n}") / "w.json", secret, "pw", default_accounts(secret), profile=TEST
        )
        w.unlock("pw")
        kp = w.signer(w.account(SVM))
        rpc.call("requestAirdrop", str(kp.pubkey()), 2 * SOL)
        out.append(kp)
    return out


@pytest.fixture(scope="module")
def desc(rpc: Rpc, owners: list[Keypair]) -> spl.Descriptor:
    creator = Keypair()
    rpc.call("requestAirdrop", str(creator.pubkey()), 20 * SOL)
    chain = get_chain(CHAIN)
    faucet = genesis.svm_faucet()
    mint = Pubkey.from_string(chain.token.address)
    svm.send(
        rpc,
        svm.sign(rpc, codec.token_transfer_message(faucet.pubkey(), creator.pubkey(), mint, 500 * USDC, 6), [faucet]),
    )
    d, prepared = spl.prepare_create(rpc, CHAIN, creator, [str(k.pubkey()) for k in owners], 2)
    prepared.submit()
    spl.prepare_fund(rpc, d, creator, "USDC", 200 * USDC).submit()
    spl.prepare_fund(rpc, d, creator, "SOL", 10 * SOL).submit()
    return d


def test_created_on_chain(rpc: Rpc, desc: spl.Descriptor, owners: list[Keypair]) -> None:
    ms_acc = svm.get_accounts(rpc, [desc.address])[0]
    assert ms_acc is not None and len(ms_acc[1]) == spl.MULTISIG_LEN and ms_acc[2] == str(TOKEN_PROGRAM_ID)
    ms = spl.onchain_multisig(rpc, desc.address)
    assert (ms.m, ms.n) == (2, 3)
    assert [str(k) for k in list(ms.signers)[:3]] == [str(k.pubkey()) for k in owners]
    held = {v["asset"]: v for v in spl.vault_balances(rpc, desc)}
    assert held["USDC"]["units"] == str(200 * USDC) and held["SOL"]["units"] == str(10 * SOL)
    for v in desc.vaults:
        acc = svm.get_accounts(rpc, [v.address])[0]
        assert acc is not None
        state = TokenAccount.from_bytes(acc[1])
        assert str(state.owner) == desc.address and str(state.mint) == v.mint


def _send_raw(rpc: Rpc, message: Message, signers: list[Keypair]) -> dict:  # type: ignore[type-arg]
    """Submit without preflight, bypassing every check of ours; the chain's verdict."""
    tx = svm.sign_with(message, signers)
    sig = rpc.call(
        "sendTransaction", base64.b64encode(bytes(tx)).decode(), {"encoding": "base64", "skipPreflight": True}
    )
    status: dict = rpc.call("getSignatureStatuses", [sig])["value"][0]  # type: ignore[type-arg]
    return status


@pytest.mark.parametrize("asset", ["USDC", "SOL"])
def test_chain_refuses_one_owner_accepts_two(rpc: Rpc, desc: spl.Descriptor, owners: list[Keypair], asset: str) -> None:
    a, b, _ = owners
    chain = get_chain(CHAIN)
    mint = spl.resolve_mint(chain, asset)
    decimals = spl.mint_decimals(rpc, chain, mint)
    to = Keypair().pubkey()
    units = 3 * 10**decimals
    blockhash = svm.latest_blockhash(rpc)
    rent = int(rpc.call("getMinimumBalanceForRentExemption", spl.TOKEN_ACCOUNT_LEN))

    def message(signers: list[Keypair], seed: str) -> Message:
        ixs = spl.payout_instructions(
            desc, a.pubkey(), mint, units, decimals, to, [s.pubkey() for s in signers], seed=seed, temp_rent=rent
        )
        return Message.new_with_blockhash(ixs, a.pubkey(), blockhash)

    before = spl.vault_balances(rpc, desc)
    one = _send_raw(rpc, message([a], "rucksack-raw-one"), [a])
    assert one["err"] is not None and "MissingRequiredSignature" in json.dumps(one["err"]), one
    assert spl.vault_balances(rpc, desc) == before  # nothing moved
    two = _send_raw(rpc, message([a, b], "rucksack-raw-two"), [a, b])
    assert two["err"] is None, two
    moved = {v["asset"]: int(v["units"]) for v in before}[asset] - {
        v["asset"]: int(v["units"]) for v in spl.vault_balances(rpc, desc)
    }[asset]
    assert moved == units


def _observe(rpc: Rpc, review: Review) -> list[int]:
    """The current value of every balance the review predicts a change of."""
    out = []
    for c in review.changes:
        if c.note.startswith("token account "):
            acc = svm.get_accounts(rpc, [c.note.split()[2]])[0]
            out.append(TokenAccount.from_bytes(acc[1]).amount if acc else 0)
        else:
            out.append(int(rpc.call("getBalance", c.account)["value"]))
    return out


@pytest.mark.parametrize("pair", [(0, 1), (1, 2), (2, 0), (1, 0)])
@pytest.mark.parametrize("asset", ["USDC", "SOL"])
def test_any_two_owners_pay_out(rpc: Rpc, desc: spl.Descriptor, owners: list[Keypair], pair: tuple, asset: str) -> None:  # type: ignore[type-arg]
    proposer, approver = owners[pair[0]], owners[pair[1]]
    to = str(Keypair().pubkey())
    units = (2 + pair[0]) * (USDC if asset == "USDC" else SOL // 10)
    signers = [str(proposer.pubkey()), str(approver.pubkey())]
    proposal = spl.propose(rpc, desc, proposer, asset, units, to, signers)
    assert proposal.missing() == [str(approver.pubkey())]
    with pytest.raises(spl.MissingSignatures):
        spl.prepare_execute(rpc, proposal)
    prepared = spl.approve(rpc, proposal, approver)
    assert prepared is not None and prepared.review.ok and not prepared.review.flags
    review = prepared.review
    symbol = "USDC" if asset == "USDC" else "SOL"
    assert review.delta(to, symbol) == units
    if asset == "SOL":
        assert review.delta(desc.address, "wSOL") == -units
    else:
        assert review.delta(desc.address, "USDC") == -units
    before = _observe(rpc, review)
    spl.execute(prepared)
    after = _observe(rpc, review)
    assert [b - a for a, b in zip(before, after, strict=True)] == [c.delta for c in review.changes]
    assert spl.status(rpc, proposal)["executed"] is True


def test_default_signers_follow_the_proposer(desc: spl.Descriptor, owners: list[Keypair]) -> None:
    keys = [str(k.pubkey()) for k in owners]
    assert spl.default_signers(desc, keys[2]) == [keys[2], keys[0]]
    assert spl.default_signers(desc, str(Keypair().pubkey())) == keys[:2]


def test_tampered_proposal_refused(rpc: Rpc, desc: spl.Descriptor, owners: list[Keypair], tmp_path: Path) -> None:
    a, b, _ = owners
    proposal = spl.propose(rpc, desc, a, "USDC", 7 * USDC, str(Keypair().pubkey()))
    path = tmp_path / "p.json"
    proposal.save(path)
    doc = json.loads(path.read_text())
    raw = base64.b64decode(doc["message"])
    amount = (7 * USDC).to_bytes(8, "little")
    assert raw.count(amount) == 1
    doc["message"] = base64.b64encode(raw.replace(amount, (70 * USDC).to_bytes(8, "little"))).decode()
    path.write_text(json.dumps(doc))
    changed = spl.Proposal.load(path)  # still parses: the bytes are a valid message
    with pytest.raises(spl.ProposalTampered, match="does not verify"):
        spl.approve(rpc, changed, b)
    assert str(b.pubkey()) not in changed.signatures  # nothing signed
    with pytest.raises(spl.ProposalTampered):
        changed.transaction()


def test_non_owner_cannot_approve_or_be_listed(rpc: Rpc, desc: spl.Descriptor, owners: list[Keypair]) -> None:
    a, _, _ = owners
    stranger = Keypair()
    proposal = spl.propose(rpc, desc, a, "USDC", 1 * USDC, str(Keypair().pubkey()))
    with pytest.raises(spl.NotASigner):
        spl.approve(rpc, proposal, stranger)
    assert list(proposal.signatures) == [str(a.pubkey())]
    with pytest.raises(spl.MultisigError, match="not owners"):
        spl.propose(rpc, desc, a, "USDC", USDC, str(stranger.pubkey()), [str(a.pubkey()), str(stranger.pubkey())])
    with pytest.raises(spl.MultisigError, match="at least 2"):
        spl.propose(rpc, desc, a, "USDC", USDC, str(stranger.pubkey()), [str(a.pubkey())])


def test_expired_blockhash_says_repropose(
    devnet: Devnet, rpc: Rpc, desc: spl.Descriptor, owners: list[Keypair]
) -> None:
    a, b, _ = owners
    proposal = spl.propose(rpc, desc, a, "SOL", SOL // 100, str(Keypair().pubkey()))
    devnet.nodes[CHAIN].svm.expire_blockhash()  # type: ignore[attr-defined]
    assert spl.status(rpc, proposal)["blockhashValid"] is False
    with pytest.raises(spl.ProposalExpired, match="re-propose"):
        spl.approve(rpc, proposal, b)
    proposal.sign(b)  # offline signing still works; the chain would not take it
    with pytest.raises(spl.ProposalExpired, match="re-propose"):
        spl.prepare_execute(rpc, proposal)


def test_eclipse_holds_eth_the_same_way(devnet: Devnet, owners: list[Keypair]) -> None:
    """Eclipse is an SVM chain whose native coin is ETH (9 decimals): the same native-mint vault."""
    rpc = Rpc(devnet.url("eclipse"))
    creator = Keypair()
    for k in [creator, *owners]:
        rpc.call("requestAirdrop", str(k.pubkey()), 2 * SOL)
    d, prepared = spl.prepare_create(rpc, "eclipse", creator, [str(k.pubkey()) for k in owners], 2)
    prepared.submit()
    assert [v.asset for v in d.vaults] == ["USDC", "ETH"]
    spl.prepare_fund(rpc, d, creator, "ETH", SOL).submit()
    to = str(Keypair().pubkey())
    proposal = spl.propose(rpc, d, owners[1], "ETH", SOL // 4, to)
    assert "0.25 ETH (wrapped)" in proposal.summary
    prepared = spl.approve(rpc, proposal, owners[2])
    assert prepared is not None and prepared.review.delta(to, "ETH") == SOL // 4
    spl.execute(prepared)
    assert int(rpc.call("getBalance", to)["value"]) == SOL // 4
    assert {v["asset"]: v["units"] for v in spl.vault_balances(rpc, d)}["ETH"] == str(SOL - SOL // 4)
