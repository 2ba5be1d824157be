"""Read models built from events: SQLite (the embedded default)."""
