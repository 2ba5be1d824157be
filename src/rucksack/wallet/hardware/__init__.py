"""Hardware signers (being written)."""
