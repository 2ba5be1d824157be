"""``rucksack wallet safe`` end to end against one devnet: deploy, create a 2-of-3 (wallet key, second
device, guardian), fund, propose, approve, execute; the guardian swap after losing the wallet key.

Each owner is its own keystore (``--kdf test``, ``--password-file``). Commands run through
``rucksack.cli.main`` in this process (as tests/integration/test_wallet_cli.py does, to keep py-evm's
imports to one), and the final ``show`` runs in a real subprocess to check the entry point.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.registry import get_chain
from rucksack.cli import main
from rucksack.wallet import evm
from rucksack.wallet.keys import generate_mnemonic
from rucksack.wallet.rpc import Endpoints
from tests.integration.wallet_harness import Owners, running_devnet

CHAIN = "base"


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet(CHAIN) as net:
        yield net


def test_safe_cli_flow(tmp_path: Path, devnet: Devnet, capsys: pytest.CaptureFixture[str]) -> None:
    run = Owners(tmp_path, capsys, devnet)
    addr = {}
    for who in ("user", "device", "guardian"):
        created = run(who, "create", "--kdf", "test")
        addr[who] = next(a["address"] for a in created["accounts"] if a["family"] == "evm")
    # the replacement is a hardware signer (the software device stands in for a Ledger/Trezor)
    words = tmp_path / "new-device-words.txt"
    words.write_text(generate_mnemonic(12).mnemonic + "\n")
    new_device = ["--device", f"software:{words}"]
    assert main(["wallet", "device", "address", *new_device, "--chain", CHAIN]) == 0
    addr["newdevice"] = json.loads(capsys.readouterr().out)["address"]
    rpc, chain, faucet = Endpoints(run.url).rpc(CHAIN), get_chain(CHAIN), genesis.evm_faucet()
    for who in ("user", "guardian"):  # the guardian executes, so it pays gas
        evm.send(rpc, evm.sign(evm.transfer_tx(rpc, chain, faucet.address, addr[who], "native", 10**19), faucet))
    evm.send(
        rpc, evm.sign(evm.transfer_tx(rpc, chain, faucet.address, addr["user"], chain.token.address, 10**8), faucet)
    )
    t = tmp_path

    dep = run("user", "safe", "deploy", "--chain", CHAIN, "--out", str(t / "dep.json"), "--yes")
    assert [d["role"] for d in dep["deployed"]] == ["singleton", "factory", "handler"]
    owners = [addr["user"], addr["device"], addr["guardian"]]
    create = ["safe", "create", "--chain", CHAIN, "--deployment", str(t / "dep.json"), "--out", str(t / "safe.json")]
    for o in owners:
        create += ["--owner", o]
    declined = run("user", *create, stdin="n\n", expect=1)  # the review is shown, nothing sent
    assert not declined["sent"] and "creates Safe" in run.err
    made = run("user", *create, "--yes")
    safe = made["safe"]
    desc = json.loads((t / "safe.json").read_text())
    assert desc["owners"] == owners and desc["threshold"] == 2 and desc["safeVersion"] == "1.4.1"
    assert desc["chainId"] == chain.chain_id and desc["singleton"] == dep["singleton"]

    run("user", "safe", "fund", "--safe", str(t / "safe.json"), "--asset", "ETH", "--amount", "2", "--yes")
    run("user", "safe", "fund", "--safe", str(t / "safe.json"), "--asset", "USDC", "--amount", "10", "--yes")
    shown = run("user", "safe", "show", "--safe", str(t / "safe.json"))
    assert {b["asset"]: b["amount"] for b in shown["balances"]} == {"ETH": "2", "USDC": "10"}

    r = Account.create().address
    p1 = str(t / "p1.json")
    proposed = run(
        "user",
        "safe",
        "propose",
        "--safe",
        str(t / "safe.json"),
        "--to",
        r,
        "--asset",
        "USDC",
        "--amount",
        "2.5",
        "--out",
        p1,
    )
    assert proposed["signedByProposer"] and proposed["status"] == "needs 1 more signature(s)"
    assert f"Safe {safe} sends 2.5 USDC to {r}" in run.err
    run("guardian", "safe", "execute", p1, "--yes", expect=2)  # one signature: not even submitted
    assert "needs 2" in run.err
    approved = run("device", "safe", "approve", p1, stdin="y\n")
    assert approved["status"] == "ready to execute" and f"sends 2.5 USDC to {r}" in run.err
    done = run("guardian", "safe", "execute", p1, "--yes")
    assert done["sent"] and done["safeState"]["nonce"] == 1
    assert evm.token_balance(rpc, chain.token.address, r) == 2_500_000
    assert run("user", "safe", "show", "--proposal", p1)["proposal"]["status"] == "executed"
    run("guardian", "safe", "execute", p1, "--yes", expect=2)  # already executed

    # DELEGATECALL is refused without the explicit override
    dc = ["safe", "propose", "--safe", str(t / "safe.json"), "--to", r, "--data", "0x", "--operation", "delegatecall"]
    run("user", *dc, "--out", str(t / "dc.json"), expect=2)
    assert "DELEGATECALL" in run.err

    # the wallet key is lost: device + guardian swap it for a new device
    p2 = str(t / "p2.json")
    sw = ["safe", "swap-owner", "--safe", str(t / "safe.json"), "--old", addr["user"], "--new", addr["newdevice"]]
    run("device", *sw, "--out", p2)
    assert f"swaps owner {addr['user']} -> {addr['newdevice']}" in run.err
    run("guardian", "safe", "approve", p2, "--yes")
    swapped = run("guardian", "safe", "execute", p2, "--yes")
    assert swapped["safeState"]["owners"] == [addr["newdevice"], addr["device"], addr["guardian"]]

    # device + the new hardware device move ETH; the old key's approval is refused
    p3 = str(t / "p3.json")
    run(
        "device",
        "safe",
        "propose",
        "--safe",
        str(t / "safe.json"),
        "--to",
        r,
        "--asset",
        "ETH",
        "--amount",
        "0.5",
        "--out",
        p3,
    )
    run("user", "safe", "approve", p3, "--yes", expect=2)
    assert "not an owner" in run.err
    unsigned = Path(p3).read_text()
    run("nobody", "safe", "approve", p3, *new_device, "--yes", stdin="n\n", expect=3)  # rejected on the device
    assert Path(p3).read_text() == unsigned
    approved = run("nobody", "safe", "approve", p3, *new_device, "--yes", stdin="y\n")  # EIP-712 shown, signed
    assert approved["status"] == "ready to execute" and "SafeTx" in run.err
    run("guardian", "safe", "execute", p3, "--yes")
    assert int(rpc.call("eth_getBalance", r, "latest"), 16) == 5 * 10**17

    show = ["wallet", "safe", "show", "--safe", str(t / "safe.json"), "--update", "--devnet", run.url]
    proc = subprocess.run(
        [sys.executable, "-m", "rucksack", *show],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    final = json.loads(proc.stdout)
    assert final["owners"] == [addr["newdevice"], addr["device"], addr["guardian"]] and final["nonce"] == 3
    assert json.loads((t / "safe.json").read_text())["owners"] == final["owners"]
