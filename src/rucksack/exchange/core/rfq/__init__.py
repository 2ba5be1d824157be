"""Requests for quote (Backpack's RFQ) and tokenized equities traded by them.

Read in this order: ``sessions`` (the stock session calendar: config data checked against a
command's journaled time), ``commands`` and ``events``, ``book`` (the state: RFQs, quotes, fills;
in snapshots and the state hash), ``settle`` (an accepted quote through the ledger, fees and the
margin rule of a book trade), ``handlers`` (the commands, dispatched from ``engine``).
"""
