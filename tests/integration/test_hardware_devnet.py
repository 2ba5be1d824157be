"""A software device against ``rucksack devnet``: its ``svm_signer`` signs real SOL transfers, its
``evm_signer`` / ``sign_evm_transaction`` real EVM ones (the chain accepts them, balances move),
the device path goes through the wallet's review rule, and ``rucksack wallet device`` works end to
end with ``software:<file>`` (the "buttons" are y/N on stdin)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.registry import get_chain
from rucksack.wallet import evm, messages, svm
from rucksack.wallet.hardware.base import EVM, SVM, Screen
from rucksack.wallet.hardware.send import prepare_transfer_with_device, send_with_device, sign_svm
from rucksack.wallet.hardware.software import SoftwareDevice
from rucksack.wallet.keys import Secret, evm_account, generate_mnemonic
from rucksack.wallet.rpc import Endpoints
from rucksack.wallet.signers import SignerRefused
from tests.integration.wallet_harness import run_cli, running_devnet

SOL0 = "m/44'/501'/0'/0'"
ETH0 = "m/44'/60'/0'/0/0"


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet("solana", "base") as net:
        yield net


@pytest.fixture(scope="module")
def endpoints(devnet: Devnet) -> Endpoints:
    return Endpoints(f"http://127.0.0.1:{devnet.port}")


class Buttons:
    def __init__(self) -> None:
        self.approve = True
        self.screens: list[Screen] = []

    def __call__(self, screen: Screen) -> bool:
        self.screens.append(screen)
        return self.approve


PHRASE = generate_mnemonic(12).mnemonic  # the software device's words, fresh for each run


@pytest.fixture(scope="module")
def words(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dev") / "words.txt"
    path.write_text(PHRASE + "\n")
    return path


@pytest.fixture(scope="module")
def funded(words: Path, endpoints: Endpoints) -> tuple[SoftwareDevice, Buttons]:
    buttons = Buttons()
    dev = SoftwareDevice.from_file(words, confirm=buttons)
    endpoints.rpc("solana").call("requestAirdrop", dev.get_address(SVM, SOL0), 3 * 10**9)
    rpc, faucet = endpoints.rpc("base"), genesis.evm_faucet()
    tx = evm.transfer_tx(rpc, get_chain("base"), faucet.address, dev.get_address(EVM, ETH0), "native", 2 * 10**18)
    evm.send(rpc, evm.sign(tx, faucet))
    return dev, buttons


def lamports(endpoints: Endpoints, who: str) -> int:
    return int(endpoints.rpc("solana").call("getBalance", who)["value"])


def wei(endpoints: Endpoints, who: str) -> int:
    return int(endpoints.rpc("base").call("eth_getBalance", who, "latest"), 16)


def test_svm_signer_signs_a_real_transfer(funded: tuple[SoftwareDevice, Buttons], endpoints: Endpoints) -> None:
    dev, buttons = funded
    rpc, chain = endpoints.rpc("solana"), get_chain("solana")
    signer = dev.svm_signer(SOL0)
    to = str(Keypair().pubkey())
    msg = svm.transfer_message(rpc, chain, signer.pubkey(), to, "native", 10**9)
    blockhash = Hash.from_string(rpc.call("getLatestBlockhash")["value"]["blockhash"])
    svm.send(rpc, sign_svm(msg, [signer], blockhash))
    assert lamports(endpoints, to) == 10**9
    assert any("1 SOL" in line for line in buttons.screens[-1].lines)

    # the same through the wallet's review rule: predicted changes are what the chain then shows
    before = lamports(endpoints, str(signer.pubkey()))
    prepared = prepare_transfer_with_device(dev, endpoints, "solana", "SOL", to, "0.5", SOL0)
    assert prepared.review.ok and not prepared.review.flags
    prepared.submit()
    assert lamports(endpoints, str(signer.pubkey())) - before == prepared.review.delta(str(signer.pubkey()), "SOL")
    assert lamports(endpoints, to) == 15 * 10**8


def test_device_signs_real_evm_transactions(funded: tuple[SoftwareDevice, Buttons], endpoints: Endpoints) -> None:
    dev, buttons = funded
    rpc, chain = endpoints.rpc("base"), get_chain("base")
    signer = dev.evm_signer(ETH0)
    to = Account.create().address
    tx = evm.transfer_tx(rpc, chain, signer.address, to, "native", 10**17)
    receipt = evm.send(rpc, signer.sign_transaction(tx))
    assert int(receipt["status"], 16) == 1 and wei(endpoints, to) == 10**17
    assert any("0.1 ETH" in line for line in buttons.screens[-1].lines)

    result = send_with_device(dev, endpoints, "base", "ETH", to, "0.25", ETH0)
    assert result["txHash"] and wei(endpoints, to) == 35 * 10**16

    buttons.approve = False
    with pytest.raises(SignerRefused):
        send_with_device(dev, endpoints, "base", "ETH", to, "0.25", ETH0)
    buttons.approve = True
    assert wei(endpoints, to) == 35 * 10**16
    assert dev.log.verify()


MAIL = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
        "Mail": [{"name": "to", "type": "address"}, {"name": "contents", "type": "string"}],
    },
    "primaryType": "Mail",
    "domain": {"name": "Rucksack", "chainId": 8453},
    "message": {"to": "0x" + "11" * 20, "contents": "hello"},
}


def _cli(args: list[str], stdin: str, capsys: pytest.CaptureFixture[str], expect: int = 0) -> dict:  # type: ignore[type-arg]
    result, out, err = run_cli(args, capsys, stdin=stdin, expect=expect)
    assert not _shows_words(out + err)  # the device's words are never printed
    return result or {"stderr": err}


def _shows_words(text: str) -> bool:
    """Whether ``text`` holds two consecutive words of the device's mnemonic. Single words are no
    evidence: BIP-39 has "account", "balance", "system", ... which a review prints on its own."""
    return any(f"{a} {b}" in text for a, b in itertools.pairwise(PHRASE.split()))


def test_device_cli(
    devnet: Devnet,
    words: Path,
    funded: tuple[SoftwareDevice, Buttons],
    endpoints: Endpoints,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dev, _ = funded
    spec = f"software:{words}"
    phrase = words.read_text().split()
    got = _cli(["wallet", "device", "address", "--device", spec, "--chain", "solana"], "", capsys)
    assert got["address"] == dev.get_address(SVM, SOL0) and got["path"] == SOL0
    got = _cli(["wallet", "device", "address", "--device", spec, "--chain", "base", "--scheme", "metamask"], "", capsys)
    assert got["address"] == dev.get_address(EVM, ETH0)

    signed = _cli(
        ["wallet", "device", "sign-message", "--device", spec, "--chain", "solana", "--message", "gm"], "y\n", capsys
    )
    payload = bytes.fromhex(signed["signed"].removeprefix("0x"))
    assert signed["scheme"] == "solana-offchain-v0"
    assert messages.verify_solana(signed["signer"], payload, signed["signature"])
    refused = _cli(
        [
            "wallet",
            "device",
            "sign-message",
            "--device",
            spec,
            "--chain",
            "base",
            "--scheme",
            "metamask",
            "--message",
            "gm",
        ],
        "n\n",
        capsys,
        expect=3,
    )
    assert "rejected on the device" in refused["stderr"]
    # EIP-712 on the device: the same JSON the keystore's sign-message prints for the same key
    doc = words.parent / "mail.json"
    doc.write_text(json.dumps(MAIL), encoding="utf-8")
    on_device = _cli(
        ["wallet", "device", "sign-message", "--device", spec, "--chain", "base", "--scheme", "metamask",
         "--typed-data", str(doc)],
        "y\n",
        capsys,
    )  # fmt: skip
    account = evm_account(Secret.from_mnemonic(" ".join(phrase)), "metamask", 0)
    in_keystore = messages.sign_typed(get_chain("base"), account, MAIL).to_json()
    assert on_device.pop("path") == ETH0 and on_device.pop("device").startswith("software:")
    assert on_device == in_keystore and len(bytes.fromhex(on_device["signed"].removeprefix("0x"))) == 32

    to = str(Pubkey.from_string(str(Keypair().pubkey())))
    url = f"http://127.0.0.1:{devnet.port}"
    sent = _cli(
        ["wallet", "device", "send", "--device", spec, "--chain", "solana", "--asset", "SOL", "--to", to,
         "--amount", "0.1", "--devnet", url, "--yes"],
        "y\n",
        capsys,
    )  # fmt: skip
    assert sent["sent"] and lamports(endpoints, to) == 10**8
    assert not _shows_words(json.dumps(sent)) and " ".join(phrase) not in json.dumps(sent)
    missing = _cli(
        ["wallet", "device", "address", "--device", "ledger:tcp:127.0.0.1:1", "--chain", "solana"], "", capsys, 2
    )
    assert "no Ledger" in missing["stderr"]
