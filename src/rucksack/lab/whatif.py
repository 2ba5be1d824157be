"""What-ifs on real history: replay a journal segment under changed parameters, beside what
happened.

From a data directory (``rucksack serve``'s, or ``rucksack lab run --journal``'s): the state at
``from_seq`` is rebuilt under the directory's own configuration (newest snapshot at or below it,
then the journal), then forked: one venue keeps the configuration, the other takes it with the
changes (``--set KEY=VALUE``, keys of the exchange configuration, e.g.
``markets.SOL_USDC_PERP.mmf_base=0.05``). Every journal entry up to ``to_seq`` is applied to both
through ``Sequencer.follow`` with its own seq and time -- the same commands, so the difference is
the parameters' alone. (Clients would have reacted to a different history; the journal cannot
know how: an order that no longer fits is refused, as the engine would refuse it.)

Both are sampled at every new second of journal time. Written: ``report.html`` (the what-if,
with what happened dashed), ``comparison.json`` (both summaries, their differences, the accounts
liquidated in only one), ``as-happened/`` (the unchanged replay's own report).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli_w

from rucksack.exchange.config import load_spec_text
from rucksack.exchange.core import queries
from rucksack.exchange.sequencer.datadir import CONFIG_NAME, JOURNAL_NAME, SNAPSHOT_DIR
from rucksack.exchange.sequencer.journal import read_journal
from rucksack.exchange.sequencer.snapshots import SnapshotStore
from rucksack.lab import report
from rucksack.lab.recorder import Recorder, fmt_atoms
from rucksack.lab.scenario import ScenarioError, merge, set_dotted
from rucksack.lab.venue import Venue


@dataclass
class Side:
    name: str
    venue: Venue
    recorder: Recorder


def changed_config(text: str, changes: dict[str, str]) -> str:
    raw = tomllib.loads(text)
    over: dict[str, Any] = {}
    for key, value in changes.items():
        set_dotted(over, "exchange." + key, value)
    merge(raw, over.get("exchange", {}))
    out = tomli_w.dumps(raw)
    try:
        load_spec_text(out)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from exc
    return out


def what_if(
    data_dir: Path,
    changes: dict[str, str],
    out: Path,
    from_seq: int = 0,
    to_seq: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> dict[str, Any]:
    """Replay ``(from_seq, to_seq]`` of ``data_dir``'s journal as it was and with ``changes``."""
    if not changes:
        raise ScenarioError("a what-if needs at least one --set KEY=VALUE")
    text = (data_dir / CONFIG_NAME).read_text(encoding="utf-8")
    spec = load_spec_text(text)
    new_text = changed_config(text, changes)
    loaded = SnapshotStore(data_dir / SNAPSHOT_DIR).load_latest(max_seq=from_seq)
    base = Venue.from_snapshot(spec, loaded[0] if loaded else None)
    entries = read_journal(data_dir / JOURNAL_NAME, after_seq=queries.last_seq(base.engine))
    pending = None
    for entry in entries:
        if entry.seq > from_seq:
            pending = entry
            break
        base.now_us = entry.ts_us
        base.follow(entry)
    if queries.last_seq(base.engine) != from_seq:
        raise ScenarioError(
            f"the journal of {data_dir} ends at {queries.last_seq(base.engine)}, before --from {from_seq}"
        )
    if pending is not None and not from_seq:
        base.now_us = pending.ts_us  # the journal's start: time 0 of the series
    markets = [m.symbol for m in queries.markets(base.engine) if m.is_perp]
    sides = [Side("as happened", base, Recorder(base, markets, base.now_us))]
    fork = base.fork(load_spec_text(new_text))
    sides.append(Side("what if", fork, Recorder(fork, markets, base.now_us)))
    for side in sides:
        side.recorder.sample(0)
    second = base.now_us // 1_000_000
    step = 0
    for entry in _chain(pending, entries):
        if to_seq is not None and entry.seq > to_seq:
            break
        if entry.ts_us // 1_000_000 != second:
            second = entry.ts_us // 1_000_000
            step += 1
            for side in sides:
                side.recorder.sample(step)
        for side in sides:
            side.venue.now_us = entry.ts_us
            side.recorder.observe(side.venue.follow(entry))
        if progress is not None:
            progress(1)
    for side in sides:
        side.recorder.sample(step + 1)
        side.venue.check()
    return _write(out, data_dir, sides, markets, text, new_text, changes, from_seq)


def _chain(first: Any, rest: Any) -> Any:
    if first is not None:
        yield first
    yield from rest


def _summary(side: Side) -> dict[str, Any]:
    r, d = side.recorder, side.recorder.decimals
    return {
        "liquidated_accounts": len(r.ever_liquidated),
        "liquidation_fills": dict(r.totals.fills),
        "liquidation_notional_usdc": {k: fmt_atoms(v, d) for k, v in r.totals.notional.items()},
        "bad_debt_usdc": {k: fmt_atoms(v, d) for k, v in r.bad_debt.items()},
        "insurance_fund_usdc": {"start": r.rows[0]["fund_usdc"], "end": fmt_atoms(r.fund_atoms(), d)},
        "seq": queries.last_seq(side.venue.engine),
        "state_hash": side.venue.state_hash(),
    }


def _write(
    out: Path,
    data_dir: Path,
    sides: list[Side],
    markets: list[str],
    text: str,
    new_text: str,
    changes: dict[str, str],
    from_seq: int,
) -> dict[str, Any]:
    actual, changed = (_summary(s) for s in sides)
    a, b = sides[0].recorder, sides[1].recorder
    d = a.decimals
    comparison = {
        "data_dir": str(data_dir),
        "from_seq": from_seq,
        "to_seq": actual["seq"],
        "changes": changes,
        "as_happened": actual,
        "what_if": changed,
        "difference": {
            "liquidated_accounts": changed["liquidated_accounts"] - actual["liquidated_accounts"],
            "bad_debt_usdc": fmt_atoms(b.bad_debt["deficit"] - a.bad_debt["deficit"], d),
            "fund_end_usdc": str(
                Decimal(changed["insurance_fund_usdc"]["end"]) - Decimal(actual["insurance_fund_usdc"]["end"])
            ),
        },
        "liquidated_only_as_happened": sorted(a.ever_liquidated - b.ever_liquidated),
        "liquidated_only_in_what_if": sorted(b.ever_liquidated - a.ever_liquidated),
    }
    lendable = [sym for sym, _ in a.lendable]
    out.mkdir(parents=True, exist_ok=True)
    report.write_json(out / "comparison.json", comparison)
    lead = (
        "What if "
        + ", ".join(f"{k} = {v}" for k, v in changes.items())
        + f": journal of {data_dir} after seq {from_seq}"
    )
    report.write_run(out / "as-happened", actual, a.rows, [], markets, lendable, text, title="As happened", lead=lead)
    report.write_run(out, changed, b.rows, [], markets, lendable, new_text, title="What if", lead=lead, other=a.rows)
    return comparison
