"""A device as a multisig co-signer: a 2-of-3 SPL multisig whose owners are a keystore, a
(software) hardware device and a third keystore. The device shows the payout on its own screen and
signs only when its holder confirms; a rejection on the device leaves the proposal unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.registry import get_chain
from rucksack.chains.svm import transfers as codec
from rucksack.cli import main
from rucksack.wallet import svm
from rucksack.wallet.keys import generate_mnemonic
from rucksack.wallet.rpc import Rpc
from tests.integration.test_multisig_spl_cli import CHAIN, cli, devnet
from tests.integration.wallet_harness import Owners

__all__ = ["cli", "devnet"]


def test_device_co_signs_an_spl_multisig_payout(cli: Owners, devnet: Devnet, tmp_path: Path) -> None:
    rpc = Rpc(devnet.url(CHAIN))
    words = tmp_path / "device-words.txt"
    words.write_text(generate_mnemonic(12).mnemonic + "\n")
    device = ["--device", f"software:{words}"]
    owners = {}
    for who in ("alice", "carol"):
        created = cli(who, "create", "--kdf", "test")
        owners[who] = next(a["address"] for a in created["accounts"] if a["family"] == "svm")
    owners["device"] = _device_address(cli, words)
    for address in owners.values():
        rpc.call("requestAirdrop", address, 2 * 10**9)

    ms_file, p_file = str(tmp_path / "ms.json"), str(tmp_path / "p.json")
    signers = ",".join(owners[w] for w in ("alice", "device", "carol"))
    cli("alice", "multisig", "create", "--chain", CHAIN, "--signers", signers, "--threshold", "2",
        "--out", ms_file, "--yes")  # fmt: skip
    desc = json.loads(Path(ms_file).read_text())
    chain = get_chain(CHAIN)
    faucet, mint = genesis.svm_faucet(), Pubkey.from_string(chain.token.address)
    vault_owner = Pubkey.from_string(desc["multisig"])
    svm.send(
        rpc, svm.sign(rpc, codec.token_transfer_message(faucet.pubkey(), vault_owner, mint, 30 * 10**6, 6), [faucet])
    )

    to = str(Keypair().pubkey())
    cli("alice", "multisig", "propose", "--multisig", ms_file, "--asset", "USDC", "--to", to, "--amount", "12",
        "--signers", f"{owners['alice']},{owners['device']}", "--out", p_file)  # fmt: skip
    before = Path(p_file).read_text()

    # the holder rejects on the device: refused (exit 3), nothing written
    cli("nobody", "multisig", "approve", p_file, *device, "--yes", stdin="n\n", expect=3)
    assert Path(p_file).read_text() == before
    assert "12" in cli.err and "USDC" in cli.err  # the device's own screen showed the amount

    approved = cli("nobody", "multisig", "approve", p_file, *device, "--yes", stdin="y\n")
    assert approved["approved"] is True and approved["missing"] == []
    done = cli("carol", "multisig", "execute", p_file, "--yes")
    assert done["sent"] is True
    held = {b["asset"]: b["amount"] for b in svm.balances(rpc, chain, to)}
    assert held.get("USDC") == "12"


def _device_address(cli: Owners, words: Path) -> str:
    assert main(["wallet", "device", "address", "--device", f"software:{words}", "--chain", CHAIN]) == 0
    return str(json.loads(cli.capsys.readouterr().out)["address"])
