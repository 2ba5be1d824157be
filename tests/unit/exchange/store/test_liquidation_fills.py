"""Fill history by ``fillType`` (both backends): a liquidation's engine-placed fills on the books,
its backstop and ADL transfers as fill rows for both parties (trade ids above every book trade id,
continued after a restart), and settlement's collateral sales, each selected by Backpack's
``fillType`` values. The events are the engine's own shapes, written out by hand so every kind
appears in one short journal (tests/api/test_liquidation_fills_api.py drives the real engine)."""

from __future__ import annotations

from rucksack.exchange.core.events import (
    Event,
    LiquidationEnded,
    LiquidationStarted,
    PnlSettled,
    PositionTransferred,
    TradeExecuted,
)
from rucksack.exchange.store.fill_types import FILL_TYPE_QUERIES, TRANSFER_TRADE_IDS
from rucksack.exchange.store.protocol import Store
from tests.conftest import default_spec
from tests.unit.exchange.store.conftest import Opener, wait

PERP, SPOT = "SOL_USDC_PERP", "SOL_USDC"
VICTIM, MAKER, PROVIDER, WINNER, OWER = 10, 11, 12, 13, 14
T0 = 1_700_000_000_000_000


def trade(trade_id: int, market: str, taker: int, maker: int, side: str, fee: int = 5, liq_fee: int = 0) -> Event:
    return TradeExecuted(
        trade_id, market, 13_000, 100, 1000 + trade_id, 2000 + trade_id, taker, maker, side, fee, 1, T0, liq_fee
    )


def journal() -> list[list[Event]]:
    """One command's events per entry, in journal order."""
    return [
        [trade(1, PERP, VICTIM, MAKER, "Bid")],  # the victim's own order: User
        [
            LiquidationStarted(VICTIM, 10, 20, 1000),
            trade(2, PERP, VICTIM, MAKER, "Ask", fee=30, liq_fee=25),  # stage 1 on the book
            trade(3, SPOT, VICTIM, MAKER, "Ask"),  # collateral sold on a spot book
        ],
        [
            PositionTransferred("Backstop", PERP, VICTIM, PROVIDER, 40, 12_900, 12_950),  # stage 2
            PositionTransferred("Adl", PERP, VICTIM, WINNER, 20, 12_800, 12_800),  # stage 3
            LiquidationEnded(VICTIM, 0, 0),
        ],
        [trade(4, SPOT, OWER, MAKER, "Ask"), PnlSettled(OWER, -100, -100, 0, 0)],  # settlement's sale
        [trade(5, PERP, MAKER, VICTIM, "Bid")],  # after liquidation: User again
    ]


def project(store: Store, commands: list[list[Event]], first_seq: int = 1) -> None:
    for k, events in enumerate(commands):
        store.project(first_seq + k, T0 + first_seq + k, events)
    store.commit()
    store.wait_visible()


def kinds(store: Store, account: int, fill_type: str | None) -> list[tuple[int, str, str, int]]:
    rows = wait(store.fills(account, fill_type=fill_type, ascending=True))
    return [(r["trade_id"], r["fill_type"], r["side"], r["price"]) for r in rows]


def test_each_fill_type_selects_its_rows(open_store: Opener) -> None:
    store = open_store(default_spec())
    project(store, journal())
    backstop, adl = TRANSFER_TRADE_IDS + 1, TRANSFER_TRADE_IDS + 2
    assert kinds(store, VICTIM, "User") == [(1, "User", "Bid", 13_000), (5, "User", "Ask", 13_000)]
    assert kinds(store, VICTIM, "BookLiquidation") == [(2, "BookLiquidation", "Ask", 13_000)]
    assert kinds(store, VICTIM, "Backstop") == [(backstop, "Backstop", "Ask", 12_900)]
    assert kinds(store, VICTIM, "Adl") == [(adl, "Adl", "Ask", 12_800)]
    liquidation = [(2, "BookLiquidation", "Ask", 13_000), (backstop, "Backstop", "Ask", 12_900)]
    liquidation.append((adl, "Adl", "Ask", 12_800))
    assert kinds(store, VICTIM, "Liquidation") == liquidation
    assert kinds(store, VICTIM, "AllLiquidation") == liquidation
    assert kinds(store, VICTIM, "CollateralConversionAndSpotLiquidation") == [(3, "SpotLiquidation", "Ask", 13_000)]
    assert kinds(store, VICTIM, "CollateralConversion") == []
    assert len(kinds(store, VICTIM, None)) == 6  # no filter: every row

    # the counterparties: the provider and the winner bought at their own prices; neither was liquidated
    assert kinds(store, PROVIDER, "Backstop") == [(backstop, "Backstop", "Bid", 12_950)]
    assert kinds(store, PROVIDER, "AllLiquidation") == [(backstop, "Backstop", "Bid", 12_950)]
    assert kinds(store, PROVIDER, "Liquidation") == []
    assert kinds(store, WINNER, "Adl") == [(adl, "Adl", "Bid", 12_800)]
    assert kinds(store, WINNER, "Liquidation") == []
    # the book's other side is the maker's own resting order
    assert [k[0] for k in kinds(store, MAKER, "User")] == [1, 2, 3, 4, 5]
    assert kinds(store, MAKER, "AllLiquidation") == []
    # settlement's collateral sale
    assert kinds(store, OWER, "CollateralConversion") == [(4, "CollateralConversion", "Ask", 13_000)]
    assert kinds(store, OWER, "CollateralConversionAndSpotLiquidation") == [(4, "CollateralConversion", "Ask", 13_000)]
    assert kinds(store, OWER, "User") == []

    # the transfer rows: the lots moved, no fee (the engine charges none), no order, both parties
    [victim_row] = wait(store.fills(VICTIM, fill_type="Backstop"))
    assert (victim_row["lots"], victim_row["fee"], victim_row["fee_asset"]) == (40, 0, "USDC")
    assert (victim_row["order_id"], victim_row["is_maker"], victim_row["liquidated"]) == (0, 0, 1)
    [book] = wait(store.fills(VICTIM, fill_type="BookLiquidation"))
    assert (book["fee"], book["liquidated"]) == (30, 1)  # the taker fee, liquidation fee included
    assert set(FILL_TYPE_QUERIES) == {
        "User",
        "BookLiquidation",
        "Adl",
        "Backstop",
        "Liquidation",
        "AllLiquidation",
        "CollateralConversion",
        "CollateralConversionAndSpotLiquidation",
    }


def test_transfer_trade_ids_continue_after_a_restart(open_store: Opener) -> None:
    spec = default_spec()
    store = open_store(spec)
    project(store, journal())
    store.close()
    reopened = open_store(spec)
    project(reopened, [[PositionTransferred("Adl", PERP, MAKER, WINNER, -5, 13_100, 13_100)]], first_seq=6)
    assert kinds(reopened, MAKER, "Adl") == [(TRANSFER_TRADE_IDS + 3, "Adl", "Bid", 13_100)]
    assert kinds(reopened, WINNER, "Adl")[-1] == (TRANSFER_TRADE_IDS + 3, "Adl", "Ask", 13_100)


def test_a_restarted_writer_remembers_who_is_being_liquidated(open_store: Opener) -> None:
    """A liquidation that spans a restart: the spot sale after it is still the engine's."""
    spec = default_spec()
    store = open_store(spec)
    project(store, [[LiquidationStarted(VICTIM, 10, 20, 1000)]])
    store.close()
    reopened = open_store(spec)
    project(reopened, [[trade(7, SPOT, VICTIM, MAKER, "Ask")], [LiquidationEnded(VICTIM, 0, 0)]], first_seq=2)
    reopened.close()
    again = open_store(spec)
    project(again, [[trade(8, SPOT, VICTIM, MAKER, "Ask")]], first_seq=4)
    assert kinds(again, VICTIM, "CollateralConversionAndSpotLiquidation") == [(7, "SpotLiquidation", "Ask", 13_000)]
    assert kinds(again, VICTIM, "User") == [(8, "User", "Ask", 13_000)]
