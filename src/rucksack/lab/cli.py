"""``rucksack lab run | sweep | whatif``: the risk lab's command line (docs/lab.md).

Each command prints one JSON line on stdout (the summary, the sweep's rows, the comparison) and
shows a progress bar on stderr when it is a terminal. The core is chosen first, as ``rucksack
serve`` does: the mypyc build in ``--native DIR`` (default ``$RUCKSACK_NATIVE``, else the
checkout's ``build/native``) when it matches the core's sources, pure Python otherwise; the line
saying which goes to stderr. Nothing here imports the core before that choice.

A scenario is a file, or the name of a shipped example (``gap30``, ``flash-crash``: the files in
the checkout's ``examples/lab``), so the examples run from any folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[3]
EXAMPLES = CHECKOUT / "examples" / "lab"


def scenario_path(name: str) -> Path:
    """A scenario file, or a shipped example by name."""
    path = Path(name)
    if path.is_file() or path.suffix:
        return path
    example = EXAMPLES / f"{name}.toml"
    return example if example.exists() else path


def choose_core(native: str | None) -> None:
    from rucksack.exchange.native import use_compiled

    given = native or os.environ.get("RUCKSACK_NATIVE") or None
    default = CHECKOUT / "build" / "native"
    directory = Path(given) if given else (default if default.exists() else None)
    sys.stderr.write(f"rucksack lab: {use_compiled(directory)}\n")


def _pairs(items: list[str] | None) -> dict[str, str]:
    from rucksack.lab.scenario import ScenarioError

    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ScenarioError(f"--set {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from rucksack.lab import report, runner, scenario
    from rucksack.progress import progress_bar

    paths = [scenario_path(name) for name in args.scenario]
    scenarios = [scenario.load(p, _pairs(args.set)) for p in paths]  # all checked before any runs
    if args.journal and len(scenarios) > 1:
        raise scenario.ScenarioError("--journal takes one scenario")
    for s in scenarios:
        out = Path(args.out) if len(scenarios) == 1 else Path(args.out) / s.scenario.name
        started = time.perf_counter()
        bar = progress_bar(f"lab {s.scenario.name}", total=s.path.steps if s.path.kind != "csv" else None, unit="step")
        try:
            result = runner.run(s, bar.update, Path(args.journal) if args.journal else None)
        finally:
            bar.close()
        ran = time.perf_counter() - started
        report.write_run(
            out,
            result.summary,
            result.rows,
            result.worst,
            result.markets,
            result.lendable,
            result.config_text,
            title=f"Risk lab: {s.scenario.name}",
            lead=s.scenario.description,
        )
        total = round(time.perf_counter() - started, 2)
        print(json.dumps({**result.summary, "out": str(out), "run_seconds": round(ran, 2), "total_seconds": total}))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from rucksack.lab import sweep

    params = [sweep.parse_param(p) for p in args.param]
    started = time.perf_counter()
    path = scenario_path(args.scenario)
    rows = sweep.sweep(path, params, Path(args.out), jobs=args.jobs, fixed=_pairs(args.set))
    print(json.dumps({"runs": rows, "out": args.out, "seconds": round(time.perf_counter() - started, 2)}))
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    from rucksack.lab import whatif
    from rucksack.progress import progress_bar

    bar = progress_bar("what-if", unit="cmd")
    try:
        changes = _pairs(args.set)
        comparison = whatif.what_if(
            Path(args.data_dir), changes, Path(args.out), args.from_seq, args.to_seq, bar.update
        )
    finally:
        bar.close()
    print(json.dumps({**comparison, "out": args.out}))
    return 0


def _guard(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        choose_core(args.native)
        from rucksack.lab.scenario import ScenarioError

        try:
            return int(func(args))
        except (ScenarioError, FileNotFoundError, ValueError) as exc:
            print(f"rucksack lab: {exc}", file=sys.stderr)
            return 2

    return run


def add_parser(sub: Any) -> None:
    lab = sub.add_parser("lab", help="risk lab: liquidation cascades under scenarios, what-ifs and sweeps")
    lsub = lab.add_subparsers(dest="what", required=True)
    run = lsub.add_parser("run", help="run scenarios; write report.html, series.csv, summary.json")
    run.add_argument("scenario", nargs="+", help="scenario file, or a shipped example's name (gap30, flash-crash)")
    run.add_argument("--out", required=True, help="directory for the report (several scenarios: one folder each)")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a scenario key (dotted)")
    run.add_argument("--journal", help="also journal every command into this new data directory")
    run.set_defaults(func=_guard(cmd_run))
    sw = lsub.add_parser("sweep", help="one or two parameters over a grid, runs on every core")
    sw.add_argument("scenario")
    sw.add_argument("--param", action="append", required=True, metavar="KEY=V1,V2,...")
    sw.add_argument("--out", required=True)
    sw.add_argument("--jobs", type=int, default=0, help="processes (0: one per core)")
    sw.add_argument("--set", action="append", metavar="KEY=VALUE", help="fixed override for every run")
    sw.set_defaults(func=_guard(cmd_sweep))
    wi = lsub.add_parser("whatif", help="replay a data dir's journal segment with changed parameters")
    wi.add_argument("data_dir")
    wi.add_argument("--set", action="append", required=True, metavar="KEY=VALUE", help="exchange config key (dotted)")
    wi.add_argument("--from", dest="from_seq", type=int, default=0, help="replay entries after this seq")
    wi.add_argument("--to", dest="to_seq", type=int, default=None, help="... up to this seq (default: the end)")
    wi.add_argument("--out", required=True)
    wi.set_defaults(func=_guard(cmd_whatif))
    for p in (run, sw, wi):
        p.add_argument(
            "--native", default=None, metavar="DIR", help="the compiled core's build (default: build/native)"
        )
