"""The risk lab: a scenario checked by hand, determinism, sweeps against their runs, what-ifs
against the journal they replay, and the command line."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rucksack.cli import main
from rucksack.lab import report, runner, scenario, sweep, whatif
from rucksack.lab.scenario import ScenarioError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "lab"


def hand_checked() -> dict[str, Any]:
    """One trader: 100 USDC, 10 SOL long at 150 (15x), no quotes after the opening (mark = index);
    the index gaps to 120 at step 2."""
    return {
        "scenario": {"name": "hand", "seed": 1},
        "population": {
            "accounts": 1,
            "long_share": 1.0,
            "markets": {"SOL_USDC_PERP": 1.0},
            "equity_usd": {"dist": "fixed", "median": 100},
            "leverage": {"dist": "fixed", "median": 15},
            "collateral": {"USDC": 1.0},
        },
        "makers": {"accounts": 1, "levels": 0, "capital_usd": 1_000_000},
        "fund": {"insurance_usd": 1000, "backstop_providers": 1, "backstop_capital_usd": 1_000_000, "lend_usd": 0},
        "path": {"kind": "gap", "steps": 4, "at": 2, "move": -0.2, "volatility": 0, "start": {"SOL_USDC_PERP": "150"}},
    }


def small(**over: Any) -> scenario.Scenario:
    raw = {
        "scenario": {"name": "small", "seed": 5},
        "population": {
            "accounts": 150,
            "long_share": 0.7,
            "markets": {"SOL_USDC_PERP": 0.6, "BTC_USDC_PERP": 0.4},
            "collateral": {"USDC": 0.7, "SOL": 0.2, "BTC": 0.1},
            "leverage": {"dist": "uniform", "min": 5, "max": 20},
        },
        "makers": {"levels": 5},
        "path": {
            "kind": "flash",
            "steps": 50,
            "at": 10,
            "duration": 8,
            "move": -0.2,
            "recover": 0.5,
            "recover_steps": 20,
        },
        "exchange": {"market_defaults": {"price_band": ["2", "0.5"]}},
    }
    return scenario.from_dict(raw, over)


def test_a_bankrupt_long_is_covered_by_the_fund_and_taken_by_the_backstop() -> None:
    r = runner.run(scenario.from_dict(hand_checked())).summary
    # opening: 1500 USDC of notional at 150 = 10 SOL = 1,000 lots of 0.01; taker fee 0.05% = 0.75
    assert r["positions_opened"] == 1
    assert r["trader_equity_usdc"]["start"] == "99.25"
    # at 120: equity = 99.25 - 10 x 30 = -200.75 < 0: stage 2 at once. The fund pays the whole
    # deficit (it holds 1,000), which takes equity to 0, so the zero price is the mark (120) and
    # the provider's price (2 x 120 + 120) / 3 = 120 too: the fund gets nothing back.
    assert r["liquidated_accounts"] == 1
    assert r["bad_debt_usdc"] == {"deficit": "200.75", "covered": "200.75", "socialized": "0", "residual": "0"}
    assert r["insurance_fund_usdc"] == {"start": "1000", "end": "799.25", "min": "799.25"}
    assert r["liquidation_fills"] == {"book": 0, "backstop": 1, "adl": 0}
    assert r["liquidation_notional_usdc"]["backstop"] == "1200"  # 10 SOL at 120
    assert r["trader_equity_usdc"]["end"] == "0"
    assert r["still_in_liquidation"] == 0


def test_an_empty_fund_socializes_the_deficit_when_no_provider_takes_it() -> None:
    raw = hand_checked()
    raw["fund"].update(insurance_usd=50, backstop_providers=0)
    r = runner.run(scenario.from_dict(raw)).summary
    # the fund's 50 go first; the other 150.75 fall on the one opposing winner (the maker, short
    # 10 SOL from 150: +300), then ADL closes the position against it at the mark
    assert r["bad_debt_usdc"] == {"deficit": "200.75", "covered": "50", "socialized": "150.75", "residual": "0"}
    assert r["insurance_fund_usdc"]["end"] == "0"
    assert r["liquidation_fills"] == {"book": 0, "backstop": 0, "adl": 1}


def test_the_same_scenario_twice_writes_identical_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        res = runner.run(small())
        report.write_run(
            tmp_path / name, res.summary, res.rows, res.worst, res.markets, res.lendable, res.config_text, title="t"
        )
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["config.toml", "report.html", "series.csv", "summary.json", "worst.csv"]
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["liquidated_accounts"] > 0  # the scenario does liquidate


def test_a_sweeps_summary_agrees_with_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text((EXAMPLES / "gap30.toml").read_text())
    fixed = {"population.accounts": "120", "path.steps": "40", "path.at": "10", "makers.levels": "3"}
    rows = sweep.sweep(
        path, [sweep.parse_param("exchange.risk.liquidation_fee=0.005,0.02")], tmp_path / "out", jobs=2, fixed=fixed
    )
    assert [r["exchange.risk.liquidation_fee"] for r in rows] == ["0.005", "0.02"]
    for row in rows:
        own = json.loads((tmp_path / "out" / row["run"] / "summary.json").read_text())
        assert row == sweep.row_of(
            {"exchange.risk.liquidation_fee": row["exchange.risk.liquidation_fee"]}, own, Path(row["run"])
        )
        direct = runner.run(
            scenario.load(path, {**fixed, "exchange.risk.liquidation_fee": row["exchange.risk.liquidation_fee"]})
        )
        assert direct.summary == own  # a worker process ran exactly what a run in this process runs
    saved = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert saved["runs"] == rows
    assert (tmp_path / "out" / "report.html").read_text().count("<a href=") == 2


def test_a_what_if_replays_the_journal_exactly_and_under_new_parameters(tmp_path: Path) -> None:
    s = small()
    happened = runner.run(s, journal=tmp_path / "data")
    cmp = whatif.what_if(tmp_path / "data", {"markets.SOL_USDC_PERP.mmf_base": "0.08"}, tmp_path / "wi")
    assert cmp["as_happened"]["state_hash"] == happened.summary["state_hash"]  # the same history, replayed
    assert cmp["as_happened"]["bad_debt_usdc"] == happened.summary["bad_debt_usdc"]
    assert cmp["what_if"]["state_hash"] != happened.summary["state_hash"]
    assert cmp["what_if"]["liquidated_accounts"] >= cmp["as_happened"]["liquidated_accounts"]
    assert (tmp_path / "wi" / "report.html").exists() and (tmp_path / "wi" / "as-happened" / "report.html").exists()
    later = whatif.what_if(tmp_path / "data", {"risk.liquidation_fee": "0.03"}, tmp_path / "wi2", from_seq=400)
    assert later["from_seq"] == 400 and later["as_happened"]["state_hash"] == happened.summary["state_hash"]
    with pytest.raises(ScenarioError):
        whatif.what_if(tmp_path / "data", {"markets.NOPE_PERP.mmf_base": "0.08"}, tmp_path / "x")


def test_a_csv_path_is_read_in_ticks(tmp_path: Path) -> None:
    from rucksack.lab.paths import generate

    (tmp_path / "p.csv").write_text("step,SOL_USDC_PERP\n0,150\n1,149.995\n2,120.5\n")
    p = scenario.from_dict({"path": {"kind": "csv", "csv": "p.csv"}}).path
    assert generate(p, ["SOL_USDC_PERP"], {"SOL_USDC_PERP": Decimal("0.01")}, 1, str(tmp_path)) == {
        "SOL_USDC_PERP": [15000, 15000, 12050]  # half a tick rounds to even
    }


def test_paths_and_bad_scenarios() -> None:
    from rucksack.lab.paths import driver

    p = small().path
    move = driver(p)
    assert move[0] == 1.0 and abs(move[p.at + p.duration] - 0.8) < 1e-12
    assert abs(move[-1] - 0.9) < 1e-12  # half of the 20% drop recovered
    with pytest.raises(ScenarioError, match="long_share"):
        small(**{"population.long_share": "2"})
    with pytest.raises(ScenarioError, match="exchange configuration"):
        small(**{"exchange.markets.SOL_USDC_PERP.mmf_base": "oops"})
    with pytest.raises(ScenarioError):
        scenario.from_dict({"population": {"acounts": 3}})


def test_the_command_line_runs_a_shipped_example_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    over = ["--set", "population.accounts=60", "--set", "path.steps=20", "--set", "path.at=5"]
    assert main(["lab", "run", "gap30", "--out", str(tmp_path), *over]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["scenario"] == "gap30" and line["accounts"] == 60
    assert Decimal(line["insurance_fund_usdc"]["start"]) == 2_000_000
    assert (tmp_path / "report.html").read_text().count("chart-") >= 5
    assert main(["lab", "run", str(tmp_path / "missing.toml"), "--out", str(tmp_path)]) == 2


def test_parsing_a_lab_command_loads_neither_the_core_nor_the_wallet() -> None:
    """The core must still be choosable (--native) when the command runs: parsing imports nothing."""
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from rucksack.cli import build_parser\n"
        "build_parser('lab').parse_args(['lab', 'run', 'gap30', '--out', 'x'])\n"
        "heavy = ('rucksack.exchange.core', 'rucksack.wallet')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
