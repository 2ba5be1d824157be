"""Sweeps: one or two scenario parameters over a grid, the runs spread over the cores.

``--param KEY=V1,V2,...`` names a scenario key in dotted form (``exchange.risk.liquidation_fee``,
``exchange.markets.SOL_USDC_PERP.mmf_base``, ``path.move``, ``population.leverage.max``); the grid
is every combination. Each point is an ordinary run (``runner.run`` on the scenario with those
values set) in its own process, written to ``runs/<n>-<values>/`` with its own report; the sweep
writes ``sweep.json`` and ``sweep.csv`` (one row per point: the values and the run's key figures,
taken from that run's ``summary.json`` figures) and ``report.html``.

Determinism: a point's run depends only on the scenario and its values (the seed is the
scenario's), never on which process ran it or in which order; the rows are in grid order.
"""

from __future__ import annotations

import html
import itertools
import os
import re
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]

from rucksack.lab import report, runner, scenario
from rucksack.progress import progress_bar

FIGURES: tuple[tuple[str, str, str], ...] = (  # sweep column, summary key, sub-key ("": the value itself)
    ("liquidated_accounts", "liquidated_accounts", ""),
    ("book_fills", "liquidation_fills", "book"),
    ("backstop_fills", "liquidation_fills", "backstop"),
    ("adl_fills", "liquidation_fills", "adl"),
    ("bad_debt_usdc", "bad_debt_usdc", "deficit"),
    ("socialized_usdc", "bad_debt_usdc", "socialized"),
    ("residual_usdc", "bad_debt_usdc", "residual"),
    ("fund_end_usdc", "insurance_fund_usdc", "end"),
    ("fund_min_usdc", "insurance_fund_usdc", "min"),
)


def parse_param(text: str) -> tuple[str, list[str]]:
    key, sep, values = text.partition("=")
    grid = [v.strip() for v in values.split(",") if v.strip()]
    if not sep or not key or not grid:
        raise scenario.ScenarioError(f"--param {text!r}: expected KEY=V1,V2,...")
    return key.strip(), grid


def grid(params: list[tuple[str, list[str]]]) -> list[dict[str, str]]:
    if not 1 <= len(params) <= 2:
        raise scenario.ScenarioError("a sweep takes one or two --param")
    keys = [k for k, _ in params]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in params))]


def point_dir(n: int, point: dict[str, str]) -> str:
    label = "-".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in point.items())
    return f"{n:03d}-" + re.sub(r"[^A-Za-z0-9_.=-]", "_", label)


def run_point(args: tuple[Path, dict[str, str], dict[str, str], Path, int]) -> dict[str, Any]:
    """One grid point (in a worker process): run it, write its report, return its row."""
    path, fixed, point, out, n = args
    s = scenario.load(path, {**fixed, **point})
    result = runner.run(s)
    directory = out / "runs" / point_dir(n, point)
    report.write_run(
        directory,
        result.summary,
        result.rows,
        result.worst,
        result.markets,
        result.lendable,
        result.config_text,
        title=f"{s.scenario.name}: {', '.join(f'{k} = {v}' for k, v in point.items())}",
        lead=s.scenario.description,
        plotly_js=f"../../{report.PLOTLY_FILE}",
    )
    return row_of(point, result.summary, directory.relative_to(out))


def row_of(point: dict[str, str], summary: dict[str, Any], directory: Path) -> dict[str, Any]:
    figures = {name: summary[key][sub] if sub else summary[key] for name, key, sub in FIGURES}
    return {**point, **figures, "run": str(directory)}


def sweep(
    path: Path, params: list[tuple[str, list[str]]], out: Path, *, jobs: int = 0, fixed: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Run every grid point (``jobs`` processes; 0: one per core) and write the sweep's outputs."""
    points = grid(params)
    base = scenario.load(path, fixed)  # refuse a bad scenario before forking
    for point in points:
        scenario.load(path, {**(fixed or {}), **point})
    out.mkdir(parents=True, exist_ok=True)
    report.ensure_plotly_file(out)
    work = [(path, fixed or {}, point, out, n) for n, point in enumerate(points)]
    workers = min(len(work), jobs or os.cpu_count() or 1)
    bar = progress_bar("sweep", total=len(work), unit="run")
    rows: list[dict[str, Any]] = []
    try:
        if workers <= 1:
            for item in work:
                rows.append(run_point(item))
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for row in pool.map(run_point, work):
                    rows.append(row)
                    bar.update(1)
    finally:
        bar.close()
    keys = [k for k, _ in params]
    report.write_json(
        out / "sweep.json", {"scenario": base.scenario.name, "seed": base.scenario.seed, "params": keys, "runs": rows}
    )
    report.write_csv(out / "sweep.csv", rows)
    _write_html(out, base, keys, rows)
    return rows


def _write_html(out: Path, s: scenario.Scenario, keys: list[str], rows: list[dict[str, Any]]) -> None:
    sections = [("Runs", _runs_table(rows))]
    for n, (name, fig) in enumerate(_figures(keys, rows)):
        sections.append((name, report.chart_html(fig, n)))
    title = f"{s.scenario.name}: sweep over {' x '.join(keys)}"
    text = report.page(title, s.scenario.description, sections, report.plotly_script(out, report.PLOTLY_FILE))
    (out / "report.html").write_text(text, encoding="utf-8")


def _runs_table(rows: list[dict[str, Any]]) -> str:
    linked = [{**r, "run": f"<a href='{html.escape(r['run'])}/report.html'>{html.escape(r['run'])}</a>"} for r in rows]
    return report.table(linked, raw=("run",))


def _num(v: Any) -> float:
    return float(Decimal(str(v)))


def _figures(keys: list[str], rows: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    out = []
    names = ("bad_debt_usdc", "socialized_usdc", "fund_end_usdc", "liquidated_accounts", "adl_fills")
    if len(keys) == 1:
        x = [r[keys[0]] for r in rows]
        for name in names:
            fig = go.Figure(go.Scatter(x=x, y=[_num(r[name]) for r in rows], mode="lines+markers", name=name))
            fig.update_layout(height=320, xaxis_title=keys[0], yaxis_title=name, xaxis_type="category")
            out.append((name, fig))
        return out
    xs = list(dict.fromkeys(r[keys[0]] for r in rows))
    ys = list(dict.fromkeys(r[keys[1]] for r in rows))
    for name in names:
        z = [[next(_num(r[name]) for r in rows if r[keys[0]] == x and r[keys[1]] == y) for x in xs] for y in ys]
        fig = go.Figure(go.Heatmap(x=xs, y=ys, z=z, colorscale="YlOrRd", texttemplate="%{z}"))
        fig.update_layout(
            height=380, xaxis_title=keys[0], yaxis_title=keys[1], xaxis_type="category", yaxis_type="category"
        )
        out.append((name, fig))
    return out
