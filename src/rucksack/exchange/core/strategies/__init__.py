"""Scheduled (TWAP) strategies: the state (``book``), commands, events and handlers."""
