"""``rucksack wallet multisig`` end to end on a devnet, three keystores as the three owners:
create -> deposit USDC with the plain ``wallet send`` and SOL with ``multisig fund`` -> propose ->
a non-owner and a declined approval change nothing -> approve (on a copy) -> merge -> execute ->
show (through the installed ``rucksack`` script).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.registry import get_chain
from rucksack.chains.svm import transfers as codec
from rucksack.wallet import svm
from rucksack.wallet.rpc import Rpc
from tests.integration.wallet_harness import Owners, running_devnet

CHAIN = "solana"


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet(CHAIN) as net:
        yield net


@pytest.fixture()
def cli(tmp_path: Path, devnet: Devnet, capsys: pytest.CaptureFixture[str]) -> Owners:
    return Owners(tmp_path, capsys, devnet)


def test_multisig_cli_flow(cli: Owners, devnet: Devnet, tmp_path: Path) -> None:
    rpc = Rpc(devnet.url(CHAIN))
    owners = {}
    for who in ("alice", "bob", "carol", "mallory"):
        created = cli(who, "create", "--kdf", "test")
        owners[who] = next(a["address"] for a in created["accounts"] if a["family"] == "svm")
        rpc.call("requestAirdrop", owners[who], 3 * 10**9)
    chain = get_chain(CHAIN)
    faucet = genesis.svm_faucet()
    mint = Pubkey.from_string(chain.token.address)
    alice = Pubkey.from_string(owners["alice"])
    svm.send(rpc, svm.sign(rpc, codec.token_transfer_message(faucet.pubkey(), alice, mint, 100 * 10**6, 6), [faucet]))

    ms_file, p_file = str(tmp_path / "ms.json"), str(tmp_path / "p.json")
    signers = ",".join(owners[w] for w in ("alice", "bob", "carol"))
    made = cli("alice", "multisig", "create", "--chain", CHAIN, "--signers", signers, "--threshold", "2",
               "--out", ms_file, "--yes")  # fmt: skip
    assert made["sent"] is True and "Balance changes" in cli.err
    desc = json.loads(Path(ms_file).read_text())
    assert desc == made["multisig"] and desc["threshold"] == 2 and len(desc["signers"]) == 3
    cli("alice", "multisig", "create", "--chain", CHAIN, "--signers", signers, "--threshold", "2",
        "--out", ms_file, "--yes", expect=2)  # fmt: skip  # never overwrites the descriptor

    # deposits: USDC with the ordinary send to the multisig address (lands in its ATA = the vault)
    sent = cli(
        "alice", "send", "--chain", CHAIN, "--asset", "USDC", "--to", desc["multisig"], "--amount", "40", "--yes"
    )
    assert sent["sent"] is True
    funded = cli("alice", "multisig", "fund", "--multisig", ms_file, "--asset", "SOL", "--amount", "1.5", "--yes")
    assert funded["sent"] is True
    shown = cli("alice", "multisig", "show", "--multisig", ms_file)
    assert {v["asset"]: v["amount"] for v in shown["vaults"]} == {"USDC": "40", "SOL": "1.5"}

    recipient = str(Keypair().pubkey())
    proposed = cli("alice", "multisig", "propose", "--multisig", ms_file, "--asset", "SOL", "--to", recipient,
                   "--amount", "0.5", "--out", p_file)  # fmt: skip
    assert proposed["missing"] == [owners["bob"]] and proposed["signed"] == [owners["alice"]]

    before = Path(p_file).read_text()
    cli("mallory", "multisig", "approve", p_file, "--yes", expect=2)  # not an owner
    assert "is not a signer" in cli.err
    cli("carol", "multisig", "approve", p_file, "--yes", expect=2)  # an owner, but not listed for this one
    cli("bob", "multisig", "approve", p_file, stdin="n\n", expect=1)  # declined after the review
    assert Path(p_file).read_text() == before
    cli("alice", "multisig", "execute", p_file, "--yes", expect=2)
    assert "missing signatures" in cli.err

    copy = str(tmp_path / "p-bob.json")  # bob signs his own copy; it is merged back
    Path(copy).write_text(before)
    approved = cli("bob", "multisig", "approve", copy, stdin="y\n")
    assert approved["approved"] is True and approved["missing"] == []
    assert "SPL transfer 0.5 SOL (wrapped)" in cli.err and f"{recipient}  +0.5 SOL" in cli.err
    assert oct(os.stat(copy).st_mode & 0o777) == "0o600"
    merged = cli("alice", "multisig", "merge", p_file, copy)
    assert merged["missing"] == [] and merged["signaturesVerify"] is True

    done = cli("carol", "multisig", "execute", p_file, "--yes")  # anyone may submit it
    assert done["sent"] is True
    assert int(rpc.call("getBalance", recipient)["value"]) == 5 * 10**8

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "rucksack"), "wallet", "multisig", "show", p_file, "--multisig", ms_file,
         "--devnet", cli.url],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["proposal"]["executed"] is True
    assert {v["asset"]: v["amount"] for v in status["vaults"]} == {"USDC": "40", "SOL": "1"}
