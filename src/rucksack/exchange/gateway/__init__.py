"""One sequencer process, N gateway processes (``rucksack serve --gateways N``; docs/deploy.md)."""
