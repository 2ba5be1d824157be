"""The journal replicated on NATS JetStream, the writer lease, the hot standby and the chaos check.

``rucksack serve --journal nats://...`` keeps the local journal (group commit, fdatasync) and
also appends every group to a 3-replica JetStream stream; a command is acknowledged only when
both hold it. See docs/deploy.md for the topology and what each failure costs.
"""
