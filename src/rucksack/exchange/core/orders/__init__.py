"""Orders: placement in named stages, settlement of fills, resting orders and cancels, triggers.

Read in this order: ``placement`` (validate -> reserve (R1) -> match -> settle (R2) -> finish),
``fills`` (R2: spot and perp settlement of one match), ``resting`` (the book's side of an order's
life: rest, close, release, cancel), ``triggers`` (conditional and TP/SL orders, which re-enter
placement when they fire).
"""
