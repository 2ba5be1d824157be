"""Seeded benchmark workloads and runners behind ``rucksack bench``; results in docs/performance.md."""
