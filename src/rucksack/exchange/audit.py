"""``rucksack audit --data-dir DIR``: re-derive the published chain of commitments from the journal.

An auditor holding the full journal (every segment from seq 1, as the data dir keeps it) replays it
from an empty engine -- the deterministic core needs nothing else -- and checks, for every record the
journal carries (``PublishCheckpoint``; exchange.checkpoints):

- the state hash at the record's seq equals the replayed engine's (``core.state.state_hash``);
- the segment root equals the RFC 6962 root of the leaves the replay derives (``leaves_of``), and the
  segment's bounds and size match;
- the liabilities root, where one is published, equals the root of the Merkle-sum tree rebuilt from
  the replayed engine's liabilities with that snapshot's secret (``DATA/reserves/<seq>/private``:
  the auditor needs the exchange's private reserves directory for this one check);
- the records link up (``rucksack.reserves.chain.check_chain``) and the files the server serves
  (``DATA/chain/records``) are exactly the journal's.

A progress bar on stderr counts commands (``rucksack.progress``). The answer is one JSON object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rucksack.exchange.checkpoints import CHAIN_DIR, leaves_of
from rucksack.exchange.core.commands import PublishCheckpoint
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.state import state_hash
from rucksack.exchange.sequencer.datadir import JOURNAL_NAME, journal_base, read_spec
from rucksack.exchange.sequencer.journal import ScanResult, read_journal
from rucksack.progress import progress_bar
from rucksack.reserves.chain import check_chain, merkle_root


def _records_in_journal(data_dir: Path) -> tuple[dict[int, dict[str, Any]], int]:
    """Every record the journal carries, by its seq, and the journal's last seq (a first pass that
    only decodes: the replay must know which seqs to hash before it reaches them)."""
    records: dict[int, dict[str, Any]] = {}
    last = 0
    for entry in read_journal(data_dir / JOURNAL_NAME, ScanResult()):
        last = entry.seq
        if isinstance(entry.command, PublishCheckpoint):
            records[entry.command.seq] = json.loads(entry.command.record)
    return records, last


def _liabilities_root(data_dir: Path, engine: Engine, seq: int) -> str | None:
    """The tier (a) root rebuilt from ``engine`` (at ``seq``) with that snapshot's own secret."""
    from nacl.signing import SigningKey

    from rucksack.exchange.reserves_export import liabilities, reserves_root
    from rucksack.reserves.build import build_from_liabilities

    secret_file = reserves_root(data_dir) / str(seq) / "private" / "snapshot-secret.hex"
    if not secret_file.is_file():
        return None
    secret = bytes.fromhex(secret_file.read_text(encoding="utf-8").strip())
    # the root does not depend on the signing key: any key signs the rebuilt (unpublished) copy
    pub = build_from_liabilities(liabilities(engine).snapshot, secret, SigningKey.generate())
    return pub.snapshot.root


def audit(data_dir: Path) -> dict[str, Any]:
    if journal_base(data_dir) > 0:
        raise ValueError(
            f"{data_dir}'s journal starts after seq {journal_base(data_dir)}: an audit needs it from seq 1"
        )
    spec = read_spec(data_dir)
    # the served files first, then the journal: on a live server every file read is in the journal
    # read after it; only records journaled meanwhile may be missing from the files (the tail)
    files = {}
    for path in sorted((data_dir / CHAIN_DIR / "records").glob("*.json")):
        record = json.loads(path.read_bytes())
        files[record["seq"]] = record
    records, last = _records_in_journal(data_dir)
    ordered = [records[s] for s in sorted(records)]
    problems = check_chain(ordered)
    newest_file = max(files, default=0)
    differ = sorted(
        seq for seq in set(files) | set(records) if files.get(seq) != records.get(seq) and seq <= newest_file
    )
    if differ:
        problems.append(f"the served record files differ from the journal's records at seqs {differ}")
    from rucksack.exchange.api.wire import Wire

    wire = Wire(spec)
    engine = Engine(spec)
    leaves: list[bytes] = []
    state_checked = segments_checked = liabilities_checked = 0
    liabilities_unchecked: list[int] = []
    bar = progress_bar("audit", total=last, unit="cmd")
    try:
        for entry in read_journal(data_dir / JOURNAL_NAME, ScanResult()):
            events = engine.apply(entry.command, entry.seq, entry.ts_us)
            leaves.extend(leaf.hash for leaf in leaves_of(wire, entry, events))
            bar.update(1)
            record = records.get(entry.seq)
            if record is None:
                continue
            seq = entry.seq
            if state_hash(engine) != record["state_hash"]:
                problems.append(f"record {seq}: state hash {record['state_hash']}, the replay's {state_hash(engine)}")
            else:
                state_checked += 1
            seg = record["segment"]
            root = merkle_root(leaves).hex()
            if root != seg["root"] or len(leaves) != seg["size"] or seg["last"] != seq:
                problems.append(
                    f"record {seq}: segment root {seg['root']} ({seg['size']} leaves), "
                    f"the replay's {root} ({len(leaves)})"
                )
            else:
                segments_checked += 1
            leaves = []
            if record.get("liabilities_root") is not None:
                rebuilt = _liabilities_root(data_dir, engine, seq)
                if rebuilt is None:
                    liabilities_unchecked.append(seq)
                elif rebuilt != record["liabilities_root"]:
                    problems.append(
                        f"record {seq}: liabilities root {record['liabilities_root']}, the replay's {rebuilt}"
                    )
                else:
                    liabilities_checked += 1
    finally:
        bar.close()
    return {
        "ok": not problems,
        "commands": last,
        "records": len(records),
        "stateHashesChecked": state_checked,
        "segmentsChecked": segments_checked,
        "liabilitiesRootsChecked": liabilities_checked,
        "liabilitiesRootsUnchecked": liabilities_unchecked,
        "finalStateHash": state_hash(engine),
        "problems": problems,
    }


__all__ = ["audit"]
