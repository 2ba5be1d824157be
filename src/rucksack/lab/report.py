"""A run's (or a what-if's) outputs in a directory:

    report.html   the charts (plotly) and tables; opens offline (plotly.js inline, or beside it)
    summary.json  the figures of the run (money as exact decimal strings)
    series.csv    one row per step: every sampled value, events counted in that step
    worst.csv     the accounts that lost the most
    config.toml   the exchange configuration the run used (servable: ``rucksack serve``)

Charts: mark vs index per market, liquidations per minute by stage (fills and notional),
insurance fund and cumulative bad debt, open interest per market (its notional at the index;
the CSV has base units), lending-pool utilization.
Everything written is a function of the run alone (fixed chart ids, sorted keys), so two runs
of one scenario write identical files.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from rucksack.lab.recorder import STAGES

PLOTLY_FILE = "plotly.min.js"
COLORS = {"book": "#2a9d8f", "backstop": "#e9c46a", "adl": "#e76f51"}


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        if not rows:
            return
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def plotly_script(out: Path, plotly_js: str) -> str:
    """The script tag loading plotly.js: ``inline`` embeds it; otherwise ``plotly_js`` is a path
    relative to ``out`` (a sweep writes the file once and every run's report points at it)."""
    if plotly_js == "inline":
        return f"<script>{get_plotlyjs()}</script>"
    return f'<script src="{html.escape(plotly_js)}"></script>'


def ensure_plotly_file(directory: Path) -> None:
    target = directory / PLOTLY_FILE
    if not target.exists():
        target.write_text(get_plotlyjs(), encoding="utf-8")


def _spacing(rows: int) -> float:
    """The gap between stacked charts, as a fraction of the figure (260 px a chart): about 40 px,
    at most 0.08, and always below plotly's bound of 1 / (rows - 1)."""
    return min(0.08, 40 / (260 * rows))


def _minutes(rows: list[dict[str, Any]]) -> tuple[list[int], dict[str, list[int]], dict[str, list[float]]]:
    """Per minute of scenario time: liquidation fills and notional by stage."""
    last = rows[-1]["seconds"] // 60 if rows else 0
    minutes = list(range(last + 1))
    fills = {s: [0] * len(minutes) for s in STAGES}
    notional = {s: [0.0] * len(minutes) for s in STAGES}
    for row in rows:
        i = row["seconds"] // 60
        for s in STAGES:
            fills[s][i] += int(row[f"{s}_fills"])
            notional[s][i] += float(row[f"{s}_notional_usdc"])
    return minutes, fills, notional


def figures(
    rows: list[dict[str, Any]], markets: list[str], lendable: list[str], other: list[dict[str, Any]] | None = None
) -> list[tuple[str, Any]]:
    """(title, figure) for every chart; ``other`` (a what-if's actual history) is drawn dashed."""
    t = [r["seconds"] for r in rows]
    out: list[tuple[str, Any]] = []
    spacing = _spacing(len(markets))
    price = make_subplots(
        rows=len(markets), cols=1, shared_xaxes=True, subplot_titles=markets, vertical_spacing=spacing
    )
    for i, m in enumerate(markets, 1):
        price.add_trace(
            go.Scatter(x=t, y=[float(r[f"{m}.index"]) for r in rows], name=f"{m} index", line={"color": "#264653"}),
            row=i,
            col=1,
        )
        price.add_trace(
            go.Scatter(
                x=t, y=[float(r[f"{m}.mark"]) for r in rows], name=f"{m} mark", line={"color": "#e76f51", "dash": "dot"}
            ),
            row=i,
            col=1,
        )
    price.update_layout(height=260 * len(markets))
    price.update_xaxes(title_text="seconds", row=len(markets), col=1)
    out.append(("Mark vs index", price))

    minutes, fills, notional = _minutes(rows)
    liq = make_subplots(
        rows=2, cols=1, shared_xaxes=True, subplot_titles=["fills per minute", "notional per minute (USDC)"]
    )
    for s in STAGES:
        liq.add_trace(go.Bar(x=minutes, y=fills[s], name=s, marker_color=COLORS[s], legendgroup=s), row=1, col=1)
        liq.add_trace(
            go.Bar(x=minutes, y=notional[s], name=s, marker_color=COLORS[s], legendgroup=s, showlegend=False),
            row=2,
            col=1,
        )
    liq.update_layout(barmode="stack", height=520, xaxis2_title="minute")
    out.append(("Liquidations per minute by stage", liq))

    fund = go.Figure()
    fund.add_trace(go.Scatter(x=t, y=[float(r["fund_usdc"]) for r in rows], name="insurance fund"))
    fund.add_trace(go.Scatter(x=t, y=[float(r["bad_debt_usdc"]) for r in rows], name="bad debt (cumulative)"))
    fund.add_trace(go.Scatter(x=t, y=[float(r["socialized_usdc"]) for r in rows], name="socialized (cumulative)"))
    if other:
        ot = [r["seconds"] for r in other]
        fund.add_trace(
            go.Scatter(
                x=ot,
                y=[float(r["fund_usdc"]) for r in other],
                name="insurance fund (as happened)",
                line={"dash": "dash"},
            )
        )
        fund.add_trace(
            go.Scatter(
                x=ot, y=[float(r["bad_debt_usdc"]) for r in other], name="bad debt (as happened)", line={"dash": "dash"}
            )
        )
    fund.update_layout(height=380, xaxis_title="seconds", yaxis_title="USDC")
    out.append(("Insurance fund and bad debt", fund))

    oi = go.Figure()
    for m in markets:
        long_side = [float(r[f"{m}.open_interest"]) * float(r[f"{m}.index"]) for r in rows]
        oi.add_trace(go.Scatter(x=t, y=long_side, name=m))
    oi.update_layout(height=340, xaxis_title="seconds", yaxis_title="long side at the index (USDC)")
    out.append(("Open interest", oi))

    util = go.Figure()
    for a in lendable:
        util.add_trace(go.Scatter(x=t, y=[float(r[f"{a}.utilization"]) for r in rows], name=a))
    util.update_layout(height=320, xaxis_title="seconds", yaxis_title="utilization", yaxis_tickformat=".1%")
    out.append(("Lending-pool utilization", util))
    return out


def table(rows: list[dict[str, Any]], raw: tuple[str, ...] = ()) -> str:
    """An HTML table of ``rows`` (every cell escaped but the ``raw`` columns: markup we made)."""
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{v if k in raw else html.escape(str(v))}</td>" for k, v in r.items()) + "</tr>"
        for r in rows
    )
    return f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def _flat(summary: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k, v in summary.items():
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append({"figure": f"{prefix}{k}", "value": v if not isinstance(v, list) else ", ".join(map(str, v))})
    return out


STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d3557}"
    "table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1.5rem}"
    "td,th{border:1px solid #ccd;padding:.25rem .5rem;text-align:right}"
    "th{background:#f1f3f8}h2{margin-top:2rem;border-bottom:1px solid #ccd}.lead{color:#555}.wide{overflow-x:auto}"
)


def page(title: str, lead: str, sections: list[tuple[str, str]], script: str) -> str:
    parts = [f"<h2>{html.escape(h)}</h2>{body}" for h, body in sections]
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style>{script}</head><body><h1>{html.escape(title)}</h1>"
        f"<p class='lead'>{html.escape(lead)}</p>{''.join(parts)}</body></html>\n"
    )


def chart_html(fig: Any, n: int) -> str:
    html_text: str = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{n}")
    return html_text


def write_run(
    out: Path,
    summary: dict[str, Any],
    rows: list[dict[str, Any]],
    worst: list[dict[str, Any]],
    markets: list[str],
    lendable: list[str],
    config_text: str,
    *,
    title: str,
    lead: str = "",
    plotly_js: str = "inline",
    other: list[dict[str, Any]] | None = None,
) -> None:
    """Write a run's report, series and summary into ``out`` (module docstring)."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "summary.json", summary)
    write_csv(out / "series.csv", rows)
    write_csv(out / "worst.csv", worst)
    (out / "config.toml").write_text(config_text, encoding="utf-8")
    sections = [("Summary", table(_flat(summary)))]
    for n, (name, fig) in enumerate(figures(rows, markets, lendable, other)):
        sections.append((name, chart_html(fig, n)))
    sections.append(("Worst accounts", table(worst)))
    (out / "report.html").write_text(page(title, lead, sections, plotly_script(out, plotly_js)), encoding="utf-8")
