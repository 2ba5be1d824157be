"""Tier (b) end to end: circom circuit, Groth16 proofs (snarkjs), the chain, the py_ecc verifier.

One publication is made per test run through the real command (``rucksack reserves snapshot
--zk``, 7 assets: the accumulators' 17 inputs are more than one Poseidon takes, so they are wide
hashes, in the circuit and in Python)
and shared by the xdist workers (file lock). The circuit (4 accounts x 7 assets) is compiled and
set up once per machine and cached under ``build/zk`` (keyed by the circuit's hash); the first run
pays for it (about 1.5 min on a loaded 2-core machine). Both provers are exercised: the command
uses the default (arkworks when groth16py is installed), and one batch is proved with each engine
and checked with the standalone verifier and with snarkjs' own. Nothing here is skipped: without
Node, the npm packages or groth16py (``make setup``) these tests fail with the reason.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from rucksack.reserves.build import load_signing_key
from rucksack.reserves.liabilities import AssetInfo, CustodyHolding, LiabilityRow, LiabilitySnapshot, encode_snapshot
from rucksack.reserves.signing import canonical_json, sign_document
from rucksack.reserves.zk import engines, groth16
from rucksack.reserves.zk import statement as st
from rucksack.reserves.zk.poseidon import P
from rucksack.reserves.zk.prover import ZkProverError, build_zk, prepare_batches
from rucksack.reserves.zk.toolchain import ensure_artifacts, node, node_modules
from rucksack.reserves.zk.verify import verify

ASSETS = [
    AssetInfo("USDC", 6, "1", "1"),
    AssetInfo("SOL", 9, "142.5", "0.9"),
    AssetInfo("BTC", 8, "67000.25", "0.85"),
    AssetInfo("ETH", 18, "3000", "0.8"),
    AssetInfo("USDT", 6, "1", "0.95"),
    AssetInfo("JUP", 6, "0.85", "0.5"),
    AssetInfo("BONK", 5, "0.00002", "0.3"),
]
K = len(ASSETS)  # 7: 3 + 2K = 17 leaf inputs, one more than Poseidon takes
E18 = 10**18
P_BASE = groth16.Q  # BN254's base field: -A = (x, q - y)


def _rows() -> list[LiabilityRow]:
    rows = []
    for i in range(19):  # 5 batches of 4, the last one padded
        equity = [1_000_000 * (i + 1), 10**9 * (i % 3), 10**6 * (i % 5), (E18 // 10) * (i % 2), 7 * i, i % 2, 10**5 * i]
        debt = [0] * K
        if i % 4 == 1:
            debt = [500_000 * (i + 1), 0, 0, 0, 0, 0, 0]  # borrowed USDC against its own USDC
        if i % 6 == 2:
            debt = [0, 10**8, 0, 0, 0, 0, 0]  # 0.1 SOL borrowed, covered by 3 USDC + 2 SOL of collateral
        if i == 7:
            debt[6] = 10**5  # 1 BONK borrowed: the last column counts too
        rows.append(LiabilityRow(2000 + i, equity, debt))
    return rows


def liabilities(rows: list[LiabilityRow] | None = None) -> LiabilitySnapshot:
    return LiabilitySnapshot(
        seq=7,
        ts_us=1_760_000_000_000_000,
        assets=ASSETS,
        rows=rows if rows is not None else _rows(),
        custody=[CustodyHolding(a.symbol, 2**63, f"custody:{a.symbol}") for a in ASSETS],
    )


def rucksack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rucksack", "reserves", *args], capture_output=True, text=True, timeout=1500
    )


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``rucksack reserves snapshot --zk`` once per test run, shared by the xdist workers."""
    base = tmp_path_factory.getbasetemp()  # under xdist, its parent is this run's (never an older run's)
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "reserves-zk"
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = shared / "out"
        if not (out / "summary.json").exists():
            (shared / "liabilities.json").write_bytes(encode_snapshot(liabilities()))
            made = rucksack("snapshot", "--zk", "--in", str(shared / "liabilities.json"), "--out", str(out))
            assert made.returncode == 0, made.stderr
            assert "proved batch 5/5" in made.stderr and "verified by the standalone verifier" in made.stderr
            (out / "summary.json").write_text(made.stdout)
    return out


def load(out: Path) -> dict[str, Any]:
    return {
        "snapshot": json.loads((out / "snapshot.json").read_text()),
        "reserves": json.loads((out / "reserves.json").read_text()),
        "zk": json.loads((out / "zk.json").read_text()),
    }


def resign(out: Path, zk: dict[str, Any]) -> dict[str, Any]:
    """What a dishonest exchange would do: change zk.json and sign it again with its own key."""
    return sign_document("zk", zk, load_signing_key(out / "private" / "signing.key"))


def status(report: Any, name: str) -> str:
    found = [ch.status for ch in report.checks if ch.name == name]
    assert found, f"no check {name}: {[ch.name for ch in report.checks]}"
    return "fail" if "fail" in found else found[0]


def test_publication_verifies_every_batch_and_the_chain(published: Path) -> None:
    summary = json.loads((published / "summary.json").read_text())
    d = load(published)
    assert len(d["zk"]["batches"]) == 5 and d["zk"]["circuit"]["constraints"] <= 1 << 14
    assert d["zk"]["circuit"]["assets"] == K and d["zk"]["circuit"]["batch"] == 4
    assert summary["prove_per_batch_s"] > 0
    report = verify(d["snapshot"], reserves=d["reserves"], zk=d["zk"], all_batches=True)
    assert report.ok, [c for c in report.checks if c.status == "fail"]
    assert report.zk is not None and report.zk["verified_batches"] == [0, 1, 2, 3, 4]
    for name in ("zk.signature", "zk.prices", "zk.chain", "zk.opening", "zk.totals", "zk.proof[2]"):
        assert status(report, name) == "ok"
    assert status(report, "zk.setup") == "warn"  # the local test ceremony says so
    assert status(report, "zk.key") == "warn"  # not pinned


def test_verification_key_pinning(published: Path) -> None:
    d = load(published)
    digest = hashlib.sha256(canonical_json(d["zk"]["verification_key"])).hexdigest()
    report = verify(d["snapshot"], zk=d["zk"], batch=0, vkey_sha256=digest)
    assert report.ok and status(report, "zk.key") == "ok"
    # an exchange swapping in the key of another circuit (here: another setup's delta) is caught by the pin
    zk = copy.deepcopy(d["zk"])
    zk["verification_key"]["vk_delta_2"] = zk["verification_key"]["vk_gamma_2"]
    report = verify(d["snapshot"], zk=resign(published, zk), batch=0, vkey_sha256=digest)
    assert not report.ok and status(report, "zk.key") == "fail"


def test_cli_verifies_one_batch_by_default_and_the_users_batch(published: Path) -> None:
    files = ["--snapshot", str(published / "snapshot.json"), "--zk", str(published / "zk.json")]
    zk_proof = str(published / "zk-proofs" / "2005.json")
    mine = ["--proof", str(published / "proofs" / "2005.json"), "--zk-proof", zk_proof]
    done = rucksack("verify", *files, *mine, "--account", "2005")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Zero-knowledge solvency (tier b): 5 batches of 4 accounts" in done.stdout
    assert "[warn] zk.coverage: verified 1 of 5 batch proofs" in done.stdout
    assert "[ok  ] zk.inclusion" in done.stdout and "RESULT: VERIFIED" in done.stdout
    as_json = json.loads(rucksack("verify", *files, *mine, "--json").stdout)
    own = json.loads((published / "zk-proofs" / "2005.json").read_text())["batch"]
    assert as_json["ok"] is True and as_json["zk"]["verified_batches"] == [own]


def test_python_and_circuit_hashes_agree(published: Path) -> None:
    # the prover already refuses to publish if they differ; recompute one batch root independently
    d = load(published)
    proof = json.loads((published / "zk-proofs" / "2003.json").read_text())
    snapshot_id = bytes.fromhex(d["snapshot"]["snapshot_id"])
    uid = st.zk_uid(bytes.fromhex(proof["salt"]), snapshot_id, 2003)
    leaf = st.leaf(uid, [int(x) for x in proof["equity"]], [int(x) for x in proof["debt"]])
    root = st.root_from_path(leaf, proof["position"], [int(x) for x in proof["siblings"]])
    assert str(root) == d["zk"]["batches"][proof["batch"]]["public"][0]
    assert d["zk"]["batches"][0]["public"][1] == str(st.acc_start(snapshot_id, K))


def test_wrong_total_is_rejected(published: Path) -> None:
    d = load(published)
    zk = copy.deepcopy(d["zk"])
    zk["opening"]["totals"][0] = str(int(zk["opening"]["totals"][0]) - 1)  # understate USDC liabilities
    report = verify(d["snapshot"], zk=resign(published, zk), batch=0)
    assert not report.ok and status(report, "zk.opening") == "fail" and status(report, "zk.totals") == "fail"
    # and a snapshot whose signed totals differ from what the proofs add up to
    snap = copy.deepcopy(d["snapshot"])
    snap["assets"][1]["total_equity"] = str(int(snap["assets"][1]["total_equity"]) - 5)
    snap = sign_document("snapshot", snap, load_signing_key(published / "private" / "signing.key"))
    report = verify(snap, zk=resign(published, copy.deepcopy(d["zk"])), batch=0)
    assert not report.ok and status(report, "zk.totals") == "fail"


def test_proven_totals_are_compared_with_the_snapshot_even_when_reserves_are_malformed(published: Path) -> None:
    d = load(published)
    reserves = copy.deepcopy(d["reserves"])
    del reserves["holdings"]
    report = verify(d["snapshot"], reserves=reserves, zk=d["zk"], batch=0)
    assert not report.ok and status(report, "reserves.format") == "fail"
    assert status(report, "zk.totals") == "ok"  # the signed totals, not the reserves section's by-product


def test_broken_chain_link_is_rejected(published: Path) -> None:
    d = load(published)
    zk = copy.deepcopy(d["zk"])
    zk["batches"][1]["public"][1] = str(int(zk["batches"][1]["public"][1]) + 1)
    report = verify(d["snapshot"], zk=resign(published, zk), batch=1)
    assert not report.ok and status(report, "zk.chain") == "fail" and status(report, "zk.proof[1]") == "fail"
    dropped = copy.deepcopy(d["zk"])
    del dropped["batches"][1]  # leave accounts out
    report = verify(d["snapshot"], zk=resign(published, dropped), batch=0)
    assert not report.ok and status(report, "zk.chain") == "fail"


def test_swapped_batches_are_rejected(published: Path) -> None:
    d = load(published)
    zk = copy.deepcopy(d["zk"])
    zk["batches"][0], zk["batches"][1] = zk["batches"][1], zk["batches"][0]
    report = verify(d["snapshot"], zk=resign(published, zk), batch=0)
    assert not report.ok and status(report, "zk.chain") == "fail"
    assert status(report, "zk.proof[0]") == "ok"  # each proof is still valid: only the chain catches it


def test_modified_proof_and_prices_are_rejected(published: Path) -> None:
    d = load(published)
    zk = copy.deepcopy(d["zk"])
    zk["batches"][2]["proof"]["pi_c"] = zk["batches"][0]["proof"]["pi_c"]
    report = verify(d["snapshot"], zk=resign(published, zk), batch=2)
    assert not report.ok and status(report, "zk.proof[2]") == "fail" and status(report, "zk.chain") == "ok"
    garbage = copy.deepcopy(d["zk"])
    garbage["batches"][0]["proof"]["pi_a"] = ["1", "3", "1"]  # not on the curve: refused, no crash
    report = verify(d["snapshot"], zk=resign(published, garbage), batch=0)
    assert not report.ok and "malformed proof" in next(c.detail for c in report.checks if c.name == "zk.proof[0]")
    moved = copy.deepcopy(d["zk"])
    moved["batches"][1]["public"][3 + K + 1] = str(int(moved["batches"][1]["public"][3 + K + 1]) // 2)
    report = verify(d["snapshot"], zk=resign(published, moved), batch=0)
    assert not report.ok and status(report, "zk.prices") == "fail"  # SOL debt valued at half price mid-chain
    unsigned = copy.deepcopy(d["zk"])
    unsigned["scale"] += 1
    report = verify(d["snapshot"], zk=unsigned, batch=0)
    assert not report.ok and status(report, "zk.signature") == "fail"


def test_zk_inclusion_rejects_other_balances_and_accounts(published: Path) -> None:
    d = load(published)
    proof = json.loads((published / "zk-proofs" / "2010.json").read_text())
    report = verify(d["snapshot"], zk=d["zk"], zk_proof=proof, account=2011)
    assert not report.ok and status(report, "zk.inclusion") == "fail"
    report = verify(d["snapshot"], zk_proof=proof)  # nothing to check it against: not a silent pass
    assert not report.ok and status(report, "zk.inclusion") == "fail"
    proof["equity"][0] = str(int(proof["equity"][0]) + 1)
    report = verify(d["snapshot"], zk=d["zk"], zk_proof=proof, account=2010)
    assert not report.ok and status(report, "zk.inclusion") == "fail"


def test_debt_above_haircut_collateral_cannot_be_proven() -> None:
    rows = _rows()[:5]
    # 1 SOL of equity is 128.25 USDC of collateral after the 0.9 haircut: 128.250001 USDC of debt is too much
    rows.append(LiabilityRow(9999, [0, 10**9, 0, 0, 0, 0, 0], [128_250_001, 0, 0, 0, 0, 0, 0]))
    snap = liabilities(rows)
    key = SigningKey(bytes(32))  # a public test key
    with pytest.raises(ZkProverError, match="account 9999: debt exceeds haircut collateral"):
        build_zk(snap, bytes(32), key, bytes(16))
    # without the Python pre-check the circuit itself has no witness for it
    with pytest.raises(ZkProverError, match="the prover refused batch 0"):
        build_zk(snap, bytes(32), key, bytes(16), precheck=False)


def _batch_input(rows: list[LiabilityRow], batch: int = 0) -> tuple[st.Shape, dict[str, Any], list[int]]:
    """One batch's circuit input (chain start, zero totals) and the public signals it must give."""
    shape, _, ccoef, dcoef, batches = prepare_batches(liabilities(rows), bytes(32), bytes(16))
    b = batches[batch]
    root = st.merkle_root([st.leaf(a.uid, a.equity, a.debt) for a in b])
    chain = st.chain_start(bytes(16))
    totals = [*(sum(a.equity[j] for a in b) for j in range(K)), *(sum(a.debt[j] for a in b) for j in range(K))]
    want = [root, st.acc_start(bytes(16), K), st.accumulator(st.chain_step(chain, root), totals, 1), *ccoef, *dcoef]
    inp = {
        "ccoef": [str(x) for x in ccoef],
        "dcoef": [str(x) for x in dcoef],
        "uid": [str(a.uid) for a in b],
        "equity": [[str(x) for x in a.equity] for a in b],
        "debt": [[str(x) for x in a.debt] for a in b],
        "chain_prev": str(chain),
        "totals_prev": ["0"] * (2 * K),
        "salt_prev": "0",
        "salt_next": "1",
    }
    return shape, inp, want


def _prove(
    engine: str, shape: st.Shape, inputs: list[dict[str, Any]], work: Path | None = None
) -> list[dict[str, Any]]:
    arts = ensure_artifacts(shape)
    results, _ = engines.prove_all(
        engine,
        arts,
        iter(inputs),
        len(inputs),
        workers=1,
        work_dir=work,
        progress=lambda _m: None,
        accounts_per_batch=4,
    )
    return results


def _snarkjs_verifies(tmp: Path, vkey: dict[str, Any], proof: dict[str, Any], public: list[str]) -> bool:
    for name, doc in (("vk.json", vkey), ("proof.json", proof), ("public.json", public)):
        (tmp / name).write_text(json.dumps(doc))
    cli = str(node_modules() / "snarkjs" / "build" / "cli.cjs")
    done = subprocess.run(
        [node(), cli, "groth16", "verify", "vk.json", "public.json", "proof.json"],
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    return done.returncode == 0 and "OK" in done.stdout


@pytest.mark.parametrize("engine", engines.ENGINES)
def test_each_prover_makes_proofs_the_standalone_verifier_and_snarkjs_accept(engine: str, tmp_path: Path) -> None:
    shape, inp, want = _batch_input(_rows()[:4])
    [out] = _prove(engine, shape, [inp])
    assert [int(x) for x in out["public"]] == want  # the circuit and the Python statement agree
    vkey = ensure_artifacts(shape).verification_key()
    vk = groth16.VerifyingKey(vkey)
    assert groth16.verify(vk, out["proof"], want)
    assert _snarkjs_verifies(tmp_path, vkey, out["proof"], out["public"])
    # tampered: another proof element, and another public signal (a lower accumulator)
    bad = copy.deepcopy(out["proof"])
    bad["pi_a"] = [bad["pi_a"][0], str(P_BASE - int(bad["pi_a"][1])), "1"]  # -A: still on the curve
    assert not groth16.verify(vk, bad, want)
    assert not _snarkjs_verifies(tmp_path, vkey, bad, out["public"])
    assert not groth16.verify(vk, out["proof"], [want[0], want[1], want[2] + 1, *want[3:]])


def test_proved_batches_are_kept_and_a_rerun_proves_only_the_missing_ones(tmp_path: Path) -> None:
    shape, first, _ = _batch_input(_rows()[:8], 0)
    _, second, _ = _batch_input(_rows()[:8], 1)
    work = tmp_path / "work"
    before = _prove("arkworks", shape, [first, second], work)
    assert sorted(p.name for p in work.iterdir()) == ["batch-0000000.json", "batch-0000001.json"]
    (work / "batch-0000001.json").unlink()  # as if the job died while proving it
    messages: list[str] = []
    arts = ensure_artifacts(shape)
    after, resumed = engines.prove_all(
        "arkworks",
        arts,
        iter([first, second]),
        2,
        workers=1,
        work_dir=work,
        progress=messages.append,
        accounts_per_batch=4,
    )
    assert resumed == 1 and after[0]["proof"] == before[0]["proof"]  # the kept proof, not a new one
    assert any("resuming: 1 batches" in m for m in messages) and any("proved batch 2/2" in m for m in messages)
    assert after[1]["public"] == before[1]["public"]
    # a changed input does not reuse the kept proof
    changed = copy.deepcopy(first)
    changed["salt_next"] = "2"
    again, resumed = engines.prove_all(
        "arkworks", arts, iter([changed]), 1, workers=1, work_dir=work, progress=lambda _m: None, accounts_per_batch=4
    )
    assert resumed == 0 and again[0]["public"][2] != before[0]["public"][2]


def test_the_daily_job_resumes_after_a_crash(tmp_path: Path) -> None:
    (tmp_path / "liabilities.json").write_bytes(encode_snapshot(liabilities(_rows()[:12])))  # 3 batches
    args = [
        "snapshot",
        "--zk",
        "--workers",
        "1",
        "--in",
        str(tmp_path / "liabilities.json"),
        "--out",
        str(tmp_path / "o"),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rucksack", "reserves", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "proved batch 1/3" in line:
            os.killpg(proc.pid, 9)  # the job and its prover processes die mid-run
            break
    proc.wait()
    kept = sorted((tmp_path / "o" / "private" / "zk-work").glob("batch-*.json"))
    assert kept and not (tmp_path / "o" / "zk.json").exists()
    done = rucksack(*args, "--resume")
    assert done.returncode == 0, done.stderr
    assert f"resuming: {len(kept)} batches already proved" in done.stderr
    assert "verified by the standalone verifier" in done.stderr
    assert not (tmp_path / "o" / "private" / "zk-work").exists()  # cleaned up once published
    d = load(tmp_path / "o")
    report = verify(d["snapshot"], reserves=d["reserves"], zk=d["zk"], batch=0)  # a resumed batch
    assert report.ok, [c for c in report.checks if c.status == "fail"]


def test_out_of_range_balances_have_no_witness() -> None:
    shape, base, _ = _batch_input(_rows()[:8])
    # oversized, and "-5" in the field; both engines take the witness from the same calculator
    for bad, engine in ((str(1 << 64), "snarkjs"), (str(P - 5), "arkworks")):
        inp = copy.deepcopy(base)
        inp["equity"][3][2] = bad
        with pytest.raises(engines.NoWitness):
            _prove(engine, shape, [inp])


class _Exchange:
    """The two reserves calls of the wallet's exchange client, answering with the published files
    exactly as ``GET /api/v1/reserves/snapshot`` and ``/proof`` shape them (routes/reserves.py)."""

    def __init__(self, out: Path, account: int, zk: dict[str, Any] | None = None) -> None:
        d = load(out)
        self.snapshot = {"seq": 7, "snapshot": d["snapshot"], "reserves": d["reserves"], "zk": zk or d["zk"]}
        self.proof = {
            "seq": 7,
            "account": account,
            "proof": json.loads((out / "proofs" / f"{account}.json").read_text()),
            "zkProof": json.loads((out / "zk-proofs" / f"{account}.json").read_text()),
        }

    def reserves_snapshot(self) -> Any:
        return copy.deepcopy(self.snapshot)

    def reserves_proof(self) -> Any:
        return copy.deepcopy(self.proof)


def test_the_wallet_verifies_the_zk_proof_of_its_own_batch(published: Path) -> None:
    from rucksack.wallet.exchange_link import verify_reserves

    result = verify_reserves(_Exchange(published, 2006))  # type: ignore[arg-type]
    report = result["report"]
    own = json.loads((published / "zk-proofs" / "2006.json").read_text())["batch"]
    assert result["ok"] and report["included"] and report["zk_verified"] is True
    assert report["zk"]["verified_batches"] == [own]
    assert f"[ok  ] zk.proof[{own}]" in result["text"] and "[ok  ] zk.inclusion" in result["text"]
    # the exchange swaps in another batch's proof for this account's batch: the wallet notices
    zk = copy.deepcopy(load(published)["zk"])
    zk["batches"][own]["proof"] = zk["batches"][(own + 1) % 5]["proof"]
    result = verify_reserves(_Exchange(published, 2006, resign(published, zk)))  # type: ignore[arg-type]
    assert not result["ok"] and result["report"]["zk_verified"] is False
    assert result["report"]["included"] is True  # tier (a) still holds; only the zk tier failed
