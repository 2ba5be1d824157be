"""What the wallet's integration tests share: a devnet for a module, and ``rucksack wallet ...`` run
in this process (one keystore file per named user, one password) with its JSON result.

``--devnet`` is added exactly when the command takes it (asked of the real parser), so a test
names only what it is about; options the test gives itself come later and win.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.registry import get_chain
from rucksack.cli import build_parser, main
from rucksack.wallet import evm
from rucksack.wallet.rpc import Endpoints

PASSWORD = "s3cret pw"


@contextmanager
def running_devnet(*chains: str) -> Iterator[Devnet]:
    """The devnet on a free loopback port (all seven chains when none are named), always stopped."""
    net = Devnet("127.0.0.1", 0, list(chains) or None).start()
    try:
        yield net
    finally:
        net.stop()


def fund_evm(endpoints: Endpoints, chain: str, owner: str, wei: int, usdc: int = 0) -> None:
    """Send ``wei`` native coin and ``usdc`` token units to ``owner`` from the devnet's EVM faucet."""
    rpc, c, faucet = endpoints.rpc(chain), get_chain(chain), genesis.evm_faucet()
    if wei:
        evm.send(rpc, evm.sign(evm.transfer_tx(rpc, c, faucet.address, owner, "native", wei), faucet))
    if usdc:
        evm.send(rpc, evm.sign(evm.transfer_tx(rpc, c, faucet.address, owner, c.token.address, usdc), faucet))


def run_cli(
    argv: list[str], capsys: pytest.CaptureFixture[str], *, stdin: str = "", expect: int = 0
) -> tuple[dict[str, Any], str, str]:
    """``rucksack <argv>`` with ``stdin``; asserts the exit code; (last stdout JSON line or {}, out, err)."""
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(argv)
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    assert code == expect, (argv, code, out, err)
    return last_json(out), out, err


def last_json(out: str) -> dict[str, Any]:
    """The command's result: the last stdout line that is a JSON object ({} if none). A library's
    stray print from a background thread of an earlier test in this process is not a result."""
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return {}


def leaf_command(argv: list[str]) -> tuple[int, argparse.ArgumentParser]:
    """How many leading words of ``argv`` are (sub)command names, and that command's parser."""
    parser: argparse.ArgumentParser = build_parser()
    for n, word in enumerate(argv):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            return n, parser
        parser = subs[0].choices[word]
    return len(argv), parser


class WalletCli:
    """``cli(*argv)`` runs ``rucksack wallet <argv>`` as ``user``; ``cli.err`` is the last stderr."""

    def __init__(
        self, tmp: Path, capsys: pytest.CaptureFixture[str], devnet: Devnet | None = None, user: str = "wallet"
    ) -> None:
        self.tmp, self.capsys, self.user = tmp, capsys, user
        self.url = f"http://127.0.0.1:{devnet.port}" if devnet is not None else None
        self.password_file = tmp / "pw"
        self.password_file.write_text(PASSWORD + "\n")
        self.err = ""
        self.seen = ""  # everything printed so far (to check that no secret ever was)

    def keystore_for(self, who: str) -> str:
        return str(self.tmp / f"{who}.json")

    @property
    def keystore(self) -> str:
        return self.keystore_for(self.user)

    def __call__(self, *argv: str, who: str | None = None, stdin: str = "", expect: int = 0) -> dict[str, Any]:
        words, parser = leaf_command(["wallet", *argv])
        ours = ["--keystore", self.keystore_for(who or self.user), "--password-file", str(self.password_file)]
        if self.url is not None and "--devnet" in parser._option_string_actions:
            ours += ["--devnet", self.url]
        # ours go first, so an option the test gives itself (another --keystore) wins
        args = ["wallet", *argv][:words] + ours + list(argv[words - 1 :])
        result, out, err = run_cli(args, self.capsys, stdin=stdin, expect=expect)
        self.err = err
        self.seen += out + err
        return result


class Owners(WalletCli):
    """The same, several users: ``cli("alice", *argv)``."""

    def __call__(self, who: str, *argv: str, stdin: str = "", expect: int = 0) -> dict[str, Any]:  # type: ignore[override]
        return super().__call__(*argv, who=who, stdin=stdin, expect=expect)
