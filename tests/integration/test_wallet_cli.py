"""``rucksack wallet`` end to end against one devnet: create, balances, send with the review shown,
confirmation prompt, wrong password, messages, v3 export, SLIP-39 backup/restore, import with a
recovery scan -- and no secret ever on stdout or stderr.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.wallet import evm
from rucksack.wallet.keys import EVM, account_ref
from rucksack.wallet.keystore import Wallet
from rucksack.wallet.rpc import Endpoints
from tests.integration.wallet_harness import WalletCli, running_devnet


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet("solana", "base") as net:
        yield net


@pytest.fixture()
def run(tmp_path: Path, devnet: Devnet, capsys: pytest.CaptureFixture[str]) -> WalletCli:
    return WalletCli(tmp_path, capsys, devnet)


def test_wallet_cli_flow(run: WalletCli, devnet: Devnet, tmp_path: Path) -> None:
    created = run("create", "--kdf", "test", "--words", "24")
    assert stat.S_IMODE(os.stat(run.keystore).st_mode) == 0o600
    sol = next(a["address"] for a in created["accounts"] if a["family"] == "svm")
    eth = next(a["address"] for a in created["accounts"] if a["family"] == "evm")
    run("create", "--kdf", "test", expect=2)  # never overwrites

    ep = Endpoints(run.url)
    ep.rpc("solana").call("requestAirdrop", sol, 2 * 10**9)
    faucet = genesis.evm_faucet()
    rpc = ep.rpc("base")
    evm.send(rpc, evm.sign(evm.transfer_tx(rpc, evm_chain("base"), faucet.address, eth, "native", 10**18), faucet))
    bal = run("balance", "--chain", "solana,base")
    assert bal["solana"]["balances"][0] == {"asset": "SOL", "address": "native", "units": "2000000000", "amount": "2"}
    assert bal["base"]["balances"][0]["amount"] == "1"

    # declined at the prompt: nothing sent
    to = Account.create().address
    declined = run("send", "--chain", "base", "--asset", "ETH", "--to", to, "--amount", "0.5", stdin="n\n", expect=1)
    assert declined["sent"] is False and "Balance changes" in run.err and "Sign and send?" in run.err
    sent = run("send", "--chain", "base", "--asset", "ETH", "--to", to, "--amount", "0.5", stdin="y\n")
    assert sent["sent"] and sent["review"]["changes"][1] == {
        "account": to,
        "asset": "ETH",
        "before": "0",
        "after": str(5 * 10**17),
        "delta": "0.5",
        "note": "",
    }
    over = run(
        "send",
        "--chain",
        "solana",
        "--asset",
        "SOL",
        "--to",
        str(genesis.svm_faucet().pubkey()),
        "--amount",
        "99",
        "--yes",
        expect=3,
    )
    assert over["sent"] is False and over["review"]["simulation"] == "failed"

    # wrong password: clear error, file unchanged
    before = Path(run.keystore).read_bytes()
    (tmp_path / "pw").write_text("wrong\n")
    run("send", "--chain", "base", "--asset", "ETH", "--to", to, "--amount", "0.1", "--yes", expect=2)
    assert "wrong password" in run.err and Path(run.keystore).read_bytes() == before
    (tmp_path / "pw").write_text("s3cret pw\n")

    msg = run("sign-message", "--chain", "solana", "--message", "hello")
    assert msg["scheme"] == "solana-offchain-v0" and msg["signer"] == sol
    run(
        "sign-message",
        "--chain",
        "base",
        "--message-file",
        str(
            write(
                tmp_path / "tx.bin",
                evm.sign(evm.transfer_tx(rpc, evm_chain("base"), faucet.address, eth, "native", 1), faucet),
            )
        ),
        expect=3,
    )

    (tmp_path / "xpw").write_text("export pw\n")
    exp = run(
        "export",
        "--out",
        str(tmp_path / "v3.json"),
        "--export-password-file",
        str(tmp_path / "xpw"),
        "--scrypt-n",
        "1024",
    )
    v3 = json.loads((tmp_path / "v3.json").read_text())
    assert Account.from_key(Account.decrypt(v3, "export pw")).address == eth == exp["address"]
    assert stat.S_IMODE(os.stat(tmp_path / "v3.json").st_mode) == 0o600

    backup = run("backup", "--out", str(tmp_path / "shares"))
    restored_ks = str(tmp_path / "restored.json")
    restored = run(
        "restore",
        "--kdf",
        "test",
        "--share-file",
        backup["shares"][2],
        "--share-file",
        backup["shares"][0],
        "--keystore",
        restored_ks,
    )
    assert [a["address"] for a in restored["accounts"]] == [sol, eth]
    run(
        "restore",
        "--kdf",
        "test",
        "--share-file",
        backup["shares"][1],
        "--keystore",
        str(tmp_path / "r2.json"),
        expect=2,
    )

    # the mnemonic itself never appeared on the terminal
    mnemonic = open_secret(run.keystore).mnemonic
    assert mnemonic.split()[0] and mnemonic not in run.seen
    for share in backup["shares"]:
        assert Path(share).read_text().strip() not in run.seen


def test_import_with_scan(run: WalletCli, devnet: Devnet, tmp_path: Path) -> None:
    phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
    from rucksack.wallet.keys import Secret

    legacy = account_ref(Secret.from_mnemonic(phrase), EVM, "metamask", 1)
    faucet = genesis.evm_faucet()
    rpc = Endpoints(run.url).rpc("base")
    evm.send(
        rpc, evm.sign(evm.transfer_tx(rpc, evm_chain("base"), faucet.address, legacy.address, "native", 10**15), faucet)
    )
    write(tmp_path / "words", (phrase + "\n").encode())
    out = run(
        "import",
        "--kdf",
        "test",
        "--mnemonic-file",
        str(tmp_path / "words"),
        "--scan",
        "--chains",
        "solana,base",
        "--scan-count",
        "3",
    )
    assert [s["account"]["address"] for s in out["scan"]] == [legacy.address]
    assert legacy.address in [a["address"] for a in out["accounts"]]
    assert phrase not in run.seen
    added = run("addresses", "--add", "evm:ledger-live:2")
    assert added["accounts"][-1]["path"] == "m/44'/60'/2'/0/0"


def evm_chain(key: str):  # type: ignore[no-untyped-def]
    from rucksack.chains.registry import get_chain

    return get_chain(key)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def open_secret(path: str):  # type: ignore[no-untyped-def]
    w = Wallet(path)
    w.unlock("s3cret pw")
    return w.secret()
