"""The single writer: sequencing, journal, snapshots, recovery."""
