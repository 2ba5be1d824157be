"""Shared fixtures: exchange specs and an engine driver that checks invariants after every command."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import pytest

from rucksack.exchange.config import load_spec
from rucksack.exchange.core import engine as engine_module
from rucksack.exchange.core.commands import Command, Deposit
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.invariants import check_invariants
from rucksack.exchange.core.lending.curve import RateCurve
from rucksack.exchange.core.markets import AssetSpec, ExchangeSpec, FeeTier, make_market
from rucksack.exchange.core.risk.margin_fn import MarginFunction
from tests.support.postgres import Cluster, start_cluster

if os.environ.get("RUCKSACK_EXPECT_COMPILED") == "1":  # make test-native: be sure what we test
    assert not str(engine_module.__file__).endswith(".py"), "expected the mypyc-compiled core"

CURVE = RateCurve(
    optimal_utilization=8 * 10**17,
    base_apr=0,
    slope1_apr=4 * 10**16,
    slope2_apr=6 * 10**17,
    fee=10**17,
    max_utilization=95 * 10**16,
)
USDC = AssetSpec("USDC", 6, lending=CURVE)
SOL = AssetSpec("SOL", 9, lending=CURVE)


def default_spec() -> ExchangeSpec:
    return load_spec()[0]


def tight_spec(min_notional: str = "1") -> ExchangeSpec:
    """One SOL_USDC market with narrow bands so band and impact rules fire in small tests.

    tick 0.01, step 0.01 -> one lot at one tick = 100 USDC atoms; price 150.00 = 15000 ticks.
    Price band 1.002/0.998 (+-30 ticks around 150), impact band 1.001/0.999 (+-15 ticks).
    """
    market = make_market(
        symbol="SOL_USDC",
        base=SOL,
        quote=USDC,
        market_type="SPOT",
        tick_size="0.01",
        step_size="0.01",
        min_quantity="0.01",
        max_quantity="1000",
        min_notional=min_notional,
        price_band=("1.002", "0.998"),
        impact_band=("1.001", "0.999"),
    )
    perp = make_market(
        symbol="SOL_USDC_PERP",
        base=SOL,
        quote=USDC,
        market_type="PERP",
        tick_size="0.01",
        step_size="0.01",
        min_quantity="0.01",
        imf=MarginFunction(10**17, 0),  # flat 10% initial margin (10x)
        mmf=MarginFunction(5 * 10**16, 0),  # flat 5% maintenance
    )
    tiers = [FeeTier("Tier 1", 800, 1000, 200, 500), FeeTier("Zero", 0, 0, 0, 0)]
    return ExchangeSpec(assets=[USDC, SOL], markets=[market, perp], fee_tiers=tiers)


class Driver:
    """Applies commands with increasing seq/time and checks every invariant after each one."""

    def __init__(self, spec: ExchangeSpec, check: bool = True) -> None:
        self.spec = spec
        self.engine = Engine(spec)
        self.seq = 0
        self.check = check
        self.log: list[tuple[int, int, Command]] = []

    def __call__(self, command: Command) -> list[Event]:
        self.seq += 1
        ts = 1_700_000_000_000_000 + self.seq
        events = self.engine.apply(command, self.seq, ts)
        self.log.append((self.seq, ts, command))
        if self.check:
            problems = check_invariants(self.engine)
            assert not problems, problems
        return events

    def run(self, commands: Iterable[Command]) -> list[list[Event]]:
        return [self(c) for c in commands]

    def fund(self, account: int, **amounts: int) -> None:
        for asset, atoms in amounts.items():
            self(Deposit(account, asset, atoms, f"fund-{account}-{asset}-{self.seq}"))

    def available(self, account: int, asset: str) -> int:
        return self.engine.ledger.available(account, self.engine.asset_index[asset])

    def locked(self, account: int, asset: str) -> int:
        return self.engine.ledger.locked(account, self.engine.asset_index[asset])


@pytest.fixture
def spec() -> ExchangeSpec:
    return tight_spec()


@pytest.fixture
def driver(spec: ExchangeSpec) -> Driver:
    return Driver(spec)


# ---------------------------------------------------------------- PostgreSQL (read-store tests)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL 15 cluster for the session (tests/support/postgres.py)."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def pg_dsn(pg_cluster: Cluster, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database for this test module; its DSN."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.module.__name__.rsplit(".", 1)[-1])
    return pg_cluster.create_database(name[:60])


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A 3-node JetStream cluster on loopback for this test session (Debian's nats-server)."""
    from rucksack.exchange.replica.cluster import Cluster

    cluster = Cluster(tmp_path_factory.mktemp("nats")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def nats_url(nats_cluster) -> str:  # type: ignore[no-untyped-def]
    """The session cluster's server list, with the venue's streams dropped first (a fresh venue)."""
    from rucksack.exchange.replica.link import drop_venue_streams

    drop_venue_streams(nats_cluster.url)
    return str(nats_cluster.url)
