"""Backpack-compatible REST and WebSocket API (an adapter around the sequencer)."""
