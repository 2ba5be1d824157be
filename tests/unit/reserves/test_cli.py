"""``rucksack reserves snapshot | proof | verify`` end to end in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rucksack.reserves.liabilities import encode_snapshot
from tests.unit.reserves.conftest import CUSTODY, ROWS, snapshot


def rucksack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rucksack", "reserves", *args], capture_output=True, text=True, timeout=120
    )


def test_snapshot_proof_verify(tmp_path: Path) -> None:
    liabilities = tmp_path / "liabilities.json"
    liabilities.write_bytes(encode_snapshot(snapshot(ROWS, custody=CUSTODY)))
    out = tmp_path / "out"
    made = rucksack("snapshot", "--in", str(liabilities), "--out", str(out))
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert summary["accounts"] == len(ROWS) and "building the Merkle-sum tree" in made.stderr
    assert (out / "private" / "snapshot-secret.hex").stat().st_mode & 0o077 == 0
    assert (out / "proofs" / "1002.json").stat().st_mode & 0o077 == 0

    files = ["--snapshot", str(out / "snapshot.json"), "--reserves", str(out / "reserves.json")]
    ok = rucksack("verify", *files, "--proof", str(out / "proofs" / "1002.json"), "--account", "1002")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "RESULT: VERIFIED" in ok.stdout and "Account 1002" in ok.stdout

    as_json = rucksack(
        "verify", *files, "--proof", str(out / "proofs" / "1002.json"), "--json", "--public-key", summary["public_key"]
    )
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and report["ok"] is True and report["account"]["account"] == 1002

    wrong_user = rucksack("verify", *files, "--proof", str(out / "proofs" / "1002.json"), "--account", "1001")
    assert wrong_user.returncode == 1 and "RESULT: FAILED" in wrong_user.stdout

    tampered = json.loads((out / "proofs" / "1001.json").read_text())
    tampered["equity"][0] = str(int(tampered["equity"][0]) + 1)
    (tmp_path / "bad.json").write_text(json.dumps(tampered))
    bad = rucksack("verify", *files, "--proof", str(tmp_path / "bad.json"), "--json")
    assert bad.returncode == 1 and json.loads(bad.stdout)["ok"] is False

    missing = rucksack("verify", "--snapshot", str(tmp_path / "nope.json"))
    assert missing.returncode == 2

    reissued = rucksack(
        "proof", "--in", str(liabilities), "--secret", str(out / "private" / "snapshot-secret.hex"), "--account", "1003"
    )
    assert reissued.returncode == 0, reissued.stderr
    assert json.loads(reissued.stdout) == json.loads((out / "proofs" / "1003.json").read_text())

    again = rucksack(
        "snapshot",
        "--in",
        str(liabilities),
        "--out",
        str(tmp_path / "second"),
        "--key",
        str(out / "private" / "signing.key"),
    )
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["public_key"] == summary["public_key"]  # same long-lived key
    assert second["root"] != summary["root"]  # fresh secret: fresh salts and shuffle
