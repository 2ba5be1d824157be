"""Perpetual futures: net positions, funding, liquidation (reference model §14)."""
