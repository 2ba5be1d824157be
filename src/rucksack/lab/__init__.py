"""The risk lab: scenarios, what-ifs on real history and sweeps through the real engine (docs/lab.md)."""
