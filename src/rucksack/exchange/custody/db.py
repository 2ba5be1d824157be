"""``custody.sqlite``: what custody saw on chain and what it signed (never balances).

- ``addresses``: deposit addresses handed out (the watchers watch exactly these).
- ``deposits``: each credited chain transfer by ``tx_id`` (``<chain>:<txid>:<n>``) with its
  from/to addresses, hash and dust -- the history endpoint's chain data. The engine's journaled set
  of credited tx ids is the authority; this table may lag it and is rebuilt by rescanning.
- ``withdrawals``: one row per request (``trigger_us``: end of its security delay; ``recipient``:
  the Travel Rule beneficiary details given with it, also in the journaled ``Withdraw``). ``raw``
  is the signed transaction, stored *before* it is sent, so a crash between signing and sending
  rebroadcasts the same bytes (same hash: never twice).
- ``cursors``: per-chain scan positions (EVM: next block); losing them only costs a rescan.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

DB_NAME = "custody.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS addresses (
    chain TEXT NOT NULL, account INTEGER NOT NULL, address TEXT NOT NULL, PRIMARY KEY (chain, account));
CREATE TABLE IF NOT EXISTS deposits (
    tx_id TEXT PRIMARY KEY, chain TEXT NOT NULL, account INTEGER NOT NULL, asset TEXT NOT NULL,
    units INTEGER NOT NULL, atoms INTEGER NOT NULL, dust INTEGER NOT NULL,
    from_address TEXT, to_address TEXT NOT NULL, tx_hash TEXT NOT NULL, height INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS withdrawals (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account INTEGER NOT NULL, chain TEXT NOT NULL, asset TEXT NOT NULL,
    atoms INTEGER NOT NULL, units INTEGER NOT NULL, to_address TEXT NOT NULL, client_id TEXT,
    status TEXT NOT NULL, tx_hash TEXT, raw BLOB, error TEXT, created_us INTEGER NOT NULL,
    trigger_us INTEGER, recipient TEXT);
CREATE TABLE IF NOT EXISTS cursors (chain TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# withdrawal row status: requested (Withdraw not yet journaled) -> [delayed (held by the engine: its
# security delay or a review; -> cancelled, funds back, or on release ->)] pending (funds debited) ->
# signed (raw stored, maybe sent) -> confirmed | refunding (refund being journaled) -> refunded
# (funds returned) ; declined (engine refused). Every status a row can hold has a wire status: a
# history read between refunding and refunded must not fail.
WIRE_STATUS = {
    "requested": "pending",
    "delayed": "pending",
    "cancelled": "cancelled",
    "pending": "pending",
    "signed": "pending",
    "refunding": "pending",
    "confirmed": "confirmed",
    "refunded": "refunded",
    "declined": "declined",
}


class CustodyDb:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(SCHEMA)
        columns = {r["name"] for r in self.conn.execute("PRAGMA table_info(withdrawals)")}
        for column, kind in (("trigger_us", "INTEGER"), ("recipient", "TEXT")):  # rows from before them
            if column not in columns:
                self.conn.execute(f"ALTER TABLE withdrawals ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self.conn.close()

    # addresses
    def remember_address(self, chain: str, account: int, address: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO addresses VALUES (?, ?, ?)", (chain, account, address))

    def addresses(self, chain: str) -> dict[str, int]:
        rows = self.conn.execute("SELECT address, account FROM addresses WHERE chain = ?", (chain,))
        return {r["address"]: int(r["account"]) for r in rows}

    # deposits
    def record_deposit(self, row: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO deposits VALUES "
            "(:tx_id, :chain, :account, :asset, :units, :atoms, :dust, :from_address, :to_address, :tx_hash, :height)",
            row,
        )

    def deposit(self, tx_id: str) -> dict[str, Any] | None:
        r = self.conn.execute("SELECT * FROM deposits WHERE tx_id = ?", (tx_id,)).fetchone()
        return dict(r) if r else None

    def deposit_accounts(self, chain: str) -> list[int]:
        """Accounts with at least one recorded deposit on ``chain`` (the sweeper's round)."""
        rows = self.conn.execute("SELECT DISTINCT account FROM deposits WHERE chain = ?", (chain,))
        return [int(r["account"]) for r in rows]

    # cursors
    def cursor(self, chain: str, default: int = 0) -> int:
        r = self.conn.execute("SELECT value FROM cursors WHERE chain = ?", (chain,)).fetchone()
        return int(r["value"]) if r else default

    def set_cursor(self, chain: str, value: int) -> None:
        self.conn.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?)", (chain, value))

    # withdrawals
    def new_withdrawal(
        self, account: int, chain: str, asset: str, atoms: int, units: int, to: str, client_id: str | None, now: int
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO withdrawals (account, chain, asset, atoms, units, to_address, client_id, status, created_us)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'requested', ?)",
            (account, chain, asset, atoms, units, to, client_id, now),
        )
        return int(cur.lastrowid or 0)

    def update_withdrawal(self, wid: int, **fields: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in fields)
        self.conn.execute(f"UPDATE withdrawals SET {cols} WHERE id = ?", (*fields.values(), wid))

    def withdrawal(self, wid: int) -> dict[str, Any] | None:
        r = self.conn.execute("SELECT * FROM withdrawals WHERE id = ?", (wid,)).fetchone()
        return dict(r) if r else None

    def withdrawals(self, *, account: int | None = None, statuses: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM withdrawals WHERE 1=1", list[Any]()
        if account is not None:
            sql += " AND account = ?"
            args.append(account)
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args.extend(statuses)
        return [dict(r) for r in self.conn.execute(sql + " ORDER BY id", args)]
