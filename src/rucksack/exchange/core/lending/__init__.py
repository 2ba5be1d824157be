"""Borrow/lend money market: rate curves, pools, cumulative interest indices."""
