"""Standalone verifier for Rucksack's proof of reserves (tier (a)). Stdlib + PyNaCl only.

It imports nothing from Rucksack but :mod:`rucksack.reserves.commitments` (stdlib) and
:mod:`rucksack.reserves.signing` (stdlib + PyNaCl), so it runs without the exchange, msgspec or a
server. Inputs are parsed with :mod:`json` and checked field by field: a malformed or out-of-range
value is a failed check, never a crash.

What it checks (spec §4.1, "standalone verifier"):

1. ``snapshot.json``: format, ED25519 signature under its ``public_key`` (and that key equals the
   one you pin with ``public_key=``/``--public-key``, if you do).
2. An inclusion proof: it is for this snapshot (id, seq, asset list) and for your account; the leaf
   is recomputed from your balances and salt; every value is in range (leaf values < 2**64, sibling
   sums at level ``l`` < 2**(64+l) — no "negative" value can hide as a huge one); the path has
   exactly ``depth`` steps; walking it gives the signed root hash *and* the signed per-asset totals.
3. ``reserves.json``: signed by the same key, for the same snapshot and challenge; per asset,
   ``reserves >= total equity - total debt``. Reserves sourced from the exchange's ledger (not
   on-chain) are reported as a warning: they are a claim, not evidence. On-chain holdings
   (``source: "on-chain"``) must each name a chain, address and height, appear once per address
   and asset, and carry the address key's signature over ``challenge``: SVM ed25519 (base58) is
   checked here; EVM ``personal_sign`` needs secp256k1 recovery, done through the ``evm_check``
   hook (:mod:`rucksack.reserves.evm_control`, eth-account) or reported as not checked.

Tier (b), the zero-knowledge solvency proofs, is checked by :mod:`rucksack.reserves.zk.verify`
(stdlib + PyNaCl + py_ecc), which runs this verifier first and adds its checks and ``Report.zk`` to
the same report; ``rucksack reserves verify`` is that one.

Limits, stated plainly: a user checks their own path only; a negative-looking or fake account on
another branch is invisible to them (tier (b) proves every leaf in range). A key in the file proves
nothing unless compared with the exchange's key from another channel.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from rucksack.reserves import commitments as c
from rucksack.reserves.signing import check_signature

OK, WARN, FAIL = "ok", "warn", "fail"
_ATOMS = re.compile(r"0|[1-9][0-9]*")
_HEX = re.compile(r"[0-9a-f]*")


class _Bad(ValueError):
    """A malformed field: ends the current section with a failed check."""


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str


@dataclass
class AssetSolvency:
    asset: str
    decimals: int
    reserves: int | None  # None: no reserves statement given
    total_equity: int
    total_debt: int
    ok: bool | None

    @property
    def net_liability(self) -> int:
        return self.total_equity - self.total_debt


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)  # id, seq, ts_us, root, depth, public_key
    account: dict[str, Any] | None = None  # account, index, balances (atoms, per symbol)
    solvency: list[AssetSolvency] = field(default_factory=list)
    zk: dict[str, Any] | None = None  # tier (b) summary, when zk.json was given

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ch.status != FAIL for ch in self.checks)

    def add(self, name: str, status: str, detail: str) -> bool:
        self.checks.append(Check(name, status, detail))
        return status != FAIL

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "snapshot": self.snapshot,
            "account": self.account,
            "solvency": [
                {
                    "asset": s.asset,
                    "reserves": None if s.reserves is None else str(s.reserves),
                    "total_equity": str(s.total_equity),
                    "total_debt": str(s.total_debt),
                    "net_liability": str(s.net_liability),
                    "ok": s.ok,
                }
                for s in self.solvency
            ],
            "zk": self.zk,
            "checks": [asdict(ch) for ch in self.checks],
        }


# -- field parsing ------------------------------------------------------------------------------


def _get(doc: Any, key: str, kind: type) -> Any:
    if not isinstance(doc, dict) or key not in doc:
        raise _Bad(f"missing field {key!r}")
    value = doc[key]
    if kind is int and (type(value) is not int or value < 0):
        raise _Bad(f"{key!r} must be a non-negative integer")
    if not isinstance(value, kind):
        raise _Bad(f"{key!r} must be a {kind.__name__}")
    return value


def _atoms(value: Any, limit: int, what: str) -> int:
    if not isinstance(value, str) or not _ATOMS.fullmatch(value):
        raise _Bad(f"{what} must be a base-10 string of atoms (no sign, no leading zeros), got {value!r}")
    n = int(value)
    if n >= limit:
        raise _Bad(f"{what} = {value} is out of range (must be < 2**{limit.bit_length() - 1})")
    return n


def _hex(value: Any, nbytes: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * nbytes or not _HEX.fullmatch(value):
        raise _Bad(f"{what} must be {nbytes} bytes of lowercase hex")
    return bytes.fromhex(value)


def _column(values: Any, k: int, limit: int, what: str) -> list[int]:
    if not isinstance(values, list) or len(values) != k:
        raise _Bad(f"{what} must list {k} amounts")
    return [_atoms(v, limit, f"{what}[{i}]") for i, v in enumerate(values)]


@dataclass(frozen=True)
class _Snapshot:
    snapshot_id: bytes
    seq: int
    depth: int
    root: bytes
    symbols: list[str]
    decimals: list[int]
    totals: list[int]  # equity[0..K) + debt[0..K)
    public_key: str


def _parse_snapshot(doc: Any) -> _Snapshot:
    version = _get(doc, "version", str)
    if version != c.VERSION:
        raise _Bad(f"unsupported version {version!r} (this verifier knows {c.VERSION!r})")
    _get(doc, "ts_us", int)
    depth = _get(doc, "depth", int)
    if not 1 <= depth <= c.MAX_DEPTH:
        raise _Bad(f"depth {depth} outside [1, {c.MAX_DEPTH}]")
    assets = _get(doc, "assets", list)
    if not assets:
        raise _Bad("no assets")
    limit = c.sums_limit(depth)
    symbols = [_get(a, "symbol", str) for a in assets]
    if len(set(symbols)) != len(symbols):
        raise _Bad("duplicate asset symbols")
    equity = [_atoms(_get(a, "total_equity", str), limit, f"{a['symbol']}.total_equity") for a in assets]
    debt = [_atoms(_get(a, "total_debt", str), limit, f"{a['symbol']}.total_debt") for a in assets]
    return _Snapshot(
        snapshot_id=_hex(_get(doc, "snapshot_id", str), c.SNAPSHOT_ID_BYTES, "snapshot_id"),
        seq=_get(doc, "seq", int),
        depth=depth,
        root=_hex(_get(doc, "root", str), c.HASH_BYTES, "root"),
        symbols=symbols,
        decimals=[_get(a, "decimals", int) for a in assets],
        totals=equity + debt,
        public_key=_get(doc, "public_key", str),
    )


# -- the three sections ---------------------------------------------------------------------------


def check_snapshot(report: Report, doc: Any, public_key: str | None) -> _Snapshot | None:
    try:
        snap = _parse_snapshot(doc)
    except _Bad as exc:
        report.add("snapshot.format", FAIL, str(exc))
        return None
    report.snapshot = {
        "snapshot_id": snap.snapshot_id.hex(),
        "seq": snap.seq,
        "ts_us": doc.get("ts_us"),
        "root": snap.root.hex(),
        "depth": snap.depth,
        "public_key": snap.public_key,
    }
    report.add("snapshot.format", OK, f"{len(snap.symbols)} assets, depth {snap.depth}")
    problem = check_signature("snapshot", doc)
    report.add(
        "snapshot.signature", FAIL if problem else OK, problem or f"valid ED25519 signature by {snap.public_key}"
    )
    if public_key is None:
        report.add(
            "snapshot.public_key",
            WARN,
            "key not pinned: compare it with the key the exchange publishes elsewhere (--public-key)",
        )
    elif public_key.lower() != snap.public_key:
        report.add("snapshot.public_key", FAIL, f"signed by {snap.public_key}, expected {public_key.lower()}")
    else:
        report.add("snapshot.public_key", OK, "matches the pinned key")
    return snap


def check_inclusion(report: Report, snap: _Snapshot, doc: Any, account: int | None) -> None:
    k = len(snap.symbols)
    try:
        if _get(doc, "version", str) != c.VERSION:
            raise _Bad(f"unsupported proof version {doc['version']!r}")
        proof_id = _hex(_get(doc, "snapshot_id", str), c.SNAPSHOT_ID_BYTES, "snapshot_id")
        seq = _get(doc, "seq", int)
        owner = _get(doc, "account", int)
        if owner >= c.U64_LIMIT:
            raise _Bad("account out of range")
        salt = _hex(_get(doc, "salt", str), c.HASH_BYTES, "salt")
        index = _get(doc, "index", int)
        symbols = _get(doc, "assets", list)
        equity = _column(_get(doc, "equity", list), k, c.U64_LIMIT, "equity")
        debt = _column(_get(doc, "debt", list), k, c.U64_LIMIT, "debt")
        path = _get(doc, "path", list)
        steps: list[tuple[bytes, list[int]]] = []
        for level, step in enumerate(path):
            limit = c.sums_limit(level)
            sib_h = _hex(_get(step, "hash", str), c.HASH_BYTES, f"path[{level}].hash")
            sib_e = _column(_get(step, "equity", list), k, limit, f"path[{level}].equity")
            sib_d = _column(_get(step, "debt", list), k, limit, f"path[{level}].debt")
            steps.append((sib_h, sib_e + sib_d))
    except _Bad as exc:
        report.add("proof.format", FAIL, str(exc))
        return
    report.account = {
        "account": owner,
        "index": index,
        "equity": dict(zip(snap.symbols, map(str, equity), strict=True)),
        "debt": dict(zip(snap.symbols, map(str, debt), strict=True)),
    }
    report.add("proof.format", OK, f"account {owner}, {len(steps)} path steps, all values in range")
    same = proof_id == snap.snapshot_id and seq == snap.seq and symbols == snap.symbols
    if not report.add(
        "proof.snapshot",
        OK if same else FAIL,
        "proof is for this snapshot" if same else "proof is for another snapshot (id, seq or asset list differ)",
    ):
        return
    if account is not None and account != owner:
        report.add("proof.account", FAIL, f"proof is for account {owner}, not {account}")
        return
    if account is not None:
        report.add("proof.account", OK, f"proof is for account {account}")
    if len(steps) != snap.depth or index >= 1 << snap.depth:
        report.add("proof.path", FAIL, f"path of {len(steps)} steps at index {index}; the tree has depth {snap.depth}")
        return
    h = c.leaf_hash(snap.snapshot_id, index, c.uid_commit(salt, snap.snapshot_id, owner), equity, debt)
    sums = equity + debt
    for level, (sib_h, sib_s) in enumerate(steps):
        if (index >> level) & 1:
            h = c.node_hash(sib_h, sib_s, h, sums)
        else:
            h = c.node_hash(h, sums, sib_h, sib_s)
        sums = [a + b for a, b in zip(sums, sib_s, strict=True)]
    if not report.add(
        "proof.root",
        OK if h == snap.root else FAIL,
        "your leaf hashes up to the signed root"
        if h == snap.root
        else f"path leads to {h.hex()}, not the signed root {snap.root.hex()}",
    ):
        return
    report.add(
        "proof.totals",
        OK if sums == snap.totals else FAIL,
        "the path's sums equal the signed per-asset totals"
        if sums == snap.totals
        else "the path's sums differ from the signed per-asset totals",
    )


ONCHAIN = "on-chain"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

# (challenge, signature, address) -> None if the signature recovers to the address, else the reason
EvmCheck = Callable[[str, str, str], "str | None"]


def b58decode(text: str) -> bytes:
    """Bitcoin-alphabet base58 (Solana addresses and signatures); ValueError on a bad character."""
    n = 0
    for ch in text:
        i = _B58.find(ch)
        if i < 0:
            raise ValueError(f"not base58: {ch!r}")
        n = n * 58 + i
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def _svm_control(challenge: str, signature: str, address: str) -> str | None:
    """ed25519 over the challenge's UTF-8 bytes, by the key that is the (base58) address."""
    try:
        key, sig = b58decode(address), b58decode(signature)
    except ValueError as exc:
        return str(exc)
    if len(key) != 32 or len(sig) != 64:
        return "address is not a 32-byte key or signature is not 64 bytes"
    try:
        VerifyKey(key).verify(challenge.encode(), sig)
    except (BadSignatureError, ValueError):
        return "ed25519 signature does not match the address"
    return None


def check_control(
    report: Report, challenge: str, holdings: list[tuple[str, str, str]], evm_check: EvmCheck | None
) -> None:
    """Each on-chain holding's ``(chain, address, signature)``: the address's key signed ``challenge``."""
    bad: list[str] = []
    unchecked = checked = 0
    for chain, address, signature in sorted(set(holdings)):
        if _EVM_ADDRESS.fullmatch(address):
            if evm_check is None:
                unchecked += 1
                continue
            problem = evm_check(challenge, signature, address)
        else:
            problem = _svm_control(challenge, signature, address)
        checked += 1
        if problem:
            bad.append(f"{chain}:{address}: {problem}")
    if bad:
        report.add("reserves.control", FAIL, "; ".join(bad))
    elif checked:
        report.add("reserves.control", OK, f"{checked} address signature(s) over the challenge are valid")
    if unchecked:
        report.add(
            "reserves.control_evm",
            WARN,
            f"{unchecked} EVM address signature(s) not checked: secp256k1 recovery is outside this stdlib+PyNaCl "
            "verifier; `rucksack reserves verify` checks them when eth-account is installed",
        )


def check_reserves(report: Report, snap: _Snapshot, doc: Any, evm_check: EvmCheck | None = None) -> None:
    k = len(snap.symbols)
    try:
        if _get(doc, "version", str) != c.VERSION:
            raise _Bad(f"unsupported reserves version {doc['version']!r}")
        statement_id = _get(doc, "snapshot_id", str)
        seq = _get(doc, "seq", int)
        challenge = _get(doc, "challenge", str)
        key = _get(doc, "public_key", str)
        held: dict[str, int] = {}
        sources: set[str] = set()
        onchain: list[tuple[str, str, str]] = []
        seen: set[tuple[str, str, str]] = set()
        for i, h in enumerate(_get(doc, "holdings", list)):
            asset = _get(h, "asset", str)
            if asset not in snap.symbols:
                raise _Bad(f"holding {i} is in {asset!r}, not an asset of the snapshot")
            held[asset] = held.get(asset, 0) + _atoms(_get(h, "balance", str), c.sums_limit(c.MAX_DEPTH), "balance")
            source = _get(h, "source", str)
            sources.add(source)
            if source == ONCHAIN:
                chain, address = _get(h, "chain", str), _get(h, "address", str)
                if not chain or not address or _get(h, "height", int) < 0:
                    raise _Bad(f"on-chain holding {i} needs a chain, an address and a height")
                if (chain, address, asset) in seen:  # one balance counted twice would inflate reserves
                    raise _Bad(f"holding {i}: {asset} at {chain}:{address} is listed twice")
                seen.add((chain, address, asset))
                onchain.append((chain, address, _get(h, "signature", str)))
    except _Bad as exc:
        report.add("reserves.format", FAIL, str(exc))
        return
    problem = check_signature("reserves", doc)
    report.add("reserves.signature", FAIL if problem else OK, problem or "valid ED25519 signature")
    report.add(
        "reserves.key",
        OK if key == snap.public_key else FAIL,
        "signed by the snapshot's key" if key == snap.public_key else "signed by a different key than the snapshot",
    )
    same = statement_id == snap.snapshot_id.hex() and seq == snap.seq
    expected_challenge = f"{c.VERSION} reserves for snapshot {snap.snapshot_id.hex()}"
    if not same:
        report.add("reserves.snapshot", FAIL, "statement is for another snapshot (id or seq differ)")
    elif challenge != expected_challenge:
        report.add("reserves.snapshot", FAIL, f"challenge {challenge!r} is not {expected_challenge!r}")
    else:
        report.add("reserves.snapshot", OK, "statement is for this snapshot")
    for source in sorted(sources):
        if "not on-chain" in source or source.startswith("exchange-ledger"):
            report.add("reserves.source", WARN, f"holdings from {source!r}: the exchange's own claim, not on-chain")
        elif source == ONCHAIN:
            report.add(
                "reserves.source",
                WARN,
                "on-chain balances at the stated heights: compare them with a node or explorer you trust",
            )
        else:
            report.add("reserves.source", WARN, f"holdings from {source!r}: not a source this verifier knows")
    if onchain:
        check_control(report, challenge, onchain, evm_check)
    for i, symbol in enumerate(snap.symbols):
        equity, debt = snap.totals[i], snap.totals[k + i]
        reserves = held.get(symbol, 0)
        solvent = reserves >= equity - debt
        report.solvency.append(AssetSolvency(symbol, snap.decimals[i], reserves, equity, debt, solvent))
        report.add(
            f"reserves.{symbol}",
            OK if solvent else FAIL,
            f"reserves {reserves} >= equity {equity} - debt {debt}"
            if solvent
            else f"SHORTFALL: reserves {reserves} < equity {equity} - debt {debt}",
        )


def verify(
    snapshot: Any,
    proof: Any = None,
    reserves: Any = None,
    *,
    account: int | None = None,
    public_key: str | None = None,
    evm_check: EvmCheck | None = None,
) -> Report:
    """Verify parsed JSON documents; ``report.ok`` is True only if no check failed. ``evm_check``
    verifies EVM address signatures (``rucksack.reserves.evm_control.check``; without it they are
    reported as not checked)."""
    report = Report()
    snap = check_snapshot(report, snapshot, public_key)
    if snap is None:
        return report
    if proof is not None:
        check_inclusion(report, snap, proof, account)
    if reserves is not None:
        check_reserves(report, snap, reserves, evm_check)
    else:
        k = len(snap.symbols)
        report.solvency = [
            AssetSolvency(s, snap.decimals[i], None, snap.totals[i], snap.totals[k + i], None)
            for i, s in enumerate(snap.symbols)
        ]
    return report


def verify_files(
    snapshot: Path,
    proof: Path | None = None,
    reserves: Path | None = None,
    *,
    account: int | None = None,
    public_key: str | None = None,
) -> Report:
    """Read and verify files; unreadable JSON raises ``OSError``/``ValueError``."""
    return verify(load_json(snapshot), load_json(proof), load_json(reserves), account=account, public_key=public_key)


def load_json(path: Path | None) -> Any:
    """``None`` for no path; unreadable JSON raises ``OSError``/``ValueError``."""
    return None if path is None else json.loads(path.read_text(encoding="utf-8"))


# -- output and command line ----------------------------------------------------------------------


def _amount(atoms: int, decimals: int) -> str:
    sign, atoms = ("-" if atoms < 0 else ""), abs(atoms)
    if decimals == 0:
        return f"{sign}{atoms}"
    whole, frac = divmod(atoms, 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


def format_text(report: Report) -> str:
    lines: list[str] = []
    s = report.snapshot
    if s:
        when = ""
        if isinstance(s.get("ts_us"), int):
            stamp = datetime.datetime.fromtimestamp(s["ts_us"] // 10**6, tz=datetime.UTC)
            when = f", {stamp:%Y-%m-%d %H:%M:%S} UTC"
        lines.append(f"Proof of reserves snapshot {s['snapshot_id']} (ledger seq {s['seq']}{when})")
        lines.append(f"  root {s['root']}, depth {s['depth']}")
    decimals = {a.asset: a.decimals for a in report.solvency}
    if report.account is not None:
        a = report.account
        lines.append(f"Account {a['account']} (leaf {a['index']}):")
        for symbol, eq in a["equity"].items():
            d = decimals.get(symbol, 0)
            lines.append(f"  {symbol:<8} equity {_amount(int(eq), d)}  debt {_amount(int(a['debt'][symbol]), d)}")
    if report.solvency:
        lines.append("Per asset:")
        for row in report.solvency:
            d = row.decimals
            liab = (
                f"net liabilities {_amount(row.net_liability, d)}"
                f" (equity {_amount(row.total_equity, d)} - debt {_amount(row.total_debt, d)})"
            )
            if row.reserves is None:
                lines.append(f"  {row.asset:<8} {liab}  (no reserves statement given)")
            else:
                verdict = "covered" if row.ok else "SHORTFALL"
                lines.append(f"  {row.asset:<8} reserves {_amount(row.reserves, d)} vs {liab}: {verdict}")
    if report.zk is not None and report.zk.get("batches"):
        z = report.zk
        lines.append(
            f"Zero-knowledge solvency (tier b): {z['batches']} batches of {z['batch_size']} accounts;"
            f" batch proofs verified: {z['verified_batches'] or 'none'}" + (" (all)" if z["all"] else "")
        )
        lines.append("  every account in them: balances in [0, 2^64), haircut collateral >= debt, summed to the totals")
    lines.append("Checks:")
    for ch in report.checks:
        lines.append(f"  [{ch.status:<4}] {ch.name}: {ch.detail}")
    lines.append("RESULT: " + ("VERIFIED" if report.ok else "FAILED"))
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--snapshot", required=True, type=Path, help="the published snapshot.json")
    parser.add_argument("--proof", type=Path, help="your inclusion proof (JSON)")
    parser.add_argument("--reserves", type=Path, help="the published reserves.json")
    parser.add_argument("--account", type=int, help="your account id: the proof must be for it")
    parser.add_argument("--public-key", help="the exchange's ED25519 key (hex), obtained independently")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    """0 when everything verified, 1 when a check failed, 2 when an input could not be read."""
    return print_report(
        args,
        lambda: verify_files(
            args.snapshot, args.proof, args.reserves, account=args.account, public_key=args.public_key
        ),
    )


def print_report(args: argparse.Namespace, read_and_verify: Callable[[], Report]) -> int:
    """Print ``read_and_verify()``'s report as text (``--json``: one JSON object) and return the exit
    status: 0 when everything verified, 1 when a check failed, 2 when an input could not be read
    (``OSError``/``ValueError``). Shared with the tier (b) verifier's :func:`run`."""
    try:
        report = read_and_verify()
    except (OSError, ValueError) as exc:
        if args.json:
            sys.stdout.write(json.dumps({"ok": False, "error": str(exc)}) + "\n")
        else:
            sys.stderr.write(f"rucksack reserves verify: cannot read input: {exc}\n")
        return 2
    sys.stdout.write(json.dumps(report.to_dict()) + "\n" if args.json else format_text(report))
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rucksack.reserves.verify", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
