"""Liquidation (margin-model.md §14): of perp positions and spot-margin borrows alike.

``sweep`` runs at each ``LiquidationSweep`` tick: accounts below maintenance are liquidated in
stages (reduce-only slices on the book, then backstop providers, then auto-deleveraging), and
bankrupt accounts' losses are socialized.
"""
