"""Double-entry ledger: balances, holds, system accounts."""
