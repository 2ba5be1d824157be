"""Custody beside a real exchange service, through the protocol it declares (``Exchange``): at
start, a withdrawal row left ``requested`` by a crash becomes ``pending`` when the journal holds
its Withdraw and ``declined`` when it does not (the read store answers, no SQL of custody's)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rucksack.exchange.core.commands import CreateAccount, Deposit, Withdraw
from rucksack.exchange.core.events import AccountCreated, Withdrawn
from rucksack.exchange.custody.db import DB_NAME, CustodyDb
from rucksack.exchange.custody.service import Custody
from rucksack.exchange.service import ExchangeLedger, ExchangeService


def test_a_crash_left_withdrawal_is_settled_from_the_journal(tmp_path: Path) -> None:
    data = tmp_path / "d"
    service = ExchangeService(data, sandbox=True)
    ledger = ExchangeLedger(service)
    db = CustodyDb(data / DB_NAME)
    debited = db.new_withdrawal(0, "solana", "USDC", 5, 5, "addr", None, 1)
    never = db.new_withdrawal(0, "solana", "USDC", 7, 7, "addr", None, 2)

    async def scenario() -> None:
        service.start()
        events = await service.submit(CreateAccount("a"))
        account = next(e.account for e in events if isinstance(e, AccountCreated))
        await service.submit(Deposit(account, "USDC", 100, "chain:tx"))
        out = await service.submit(Withdraw(account, "USDC", 5, f"withdrawal:{debited}"))
        assert any(isinstance(e, Withdrawn) for e in out)

    asyncio.run(scenario())
    assert ledger.credited("chain:tx") and not ledger.credited("chain:other")
    assert ledger.has_asset("USDC") and not ledger.has_asset("NOPE")
    assert ledger.asset_decimals()["USDC"] == 6
    assert ledger.withdrawal_debited(f"withdrawal:{debited}")
    assert not ledger.withdrawal_debited(f"withdrawal:{never}")

    custody = Custody(ledger)  # no chain RPCs: deposit addresses only, but the rows are reconciled
    statuses = [row["status"] if row else None for row in map(custody.db.withdrawal, (debited, never))]
    assert statuses == ["pending", "declined"]
    custody.db.close()
    db.close()
    service.close()
