"""Proof of reserves: liabilities snapshot in, Merkle-sum tree, signed publication, verifier out.

Tier (a) of ``shared/spec/proof-of-reserves.md`` §4.1. This package imports nothing from
``rucksack.exchange``: the exchange hands it a :class:`~rucksack.reserves.liabilities.LiabilitySnapshot`.

Module map (read in this order):

- ``commitments``  hash layouts: domain tags, salts, user-id commitments, leaf and node hashes (stdlib)
- ``signing``      canonical JSON and ED25519 signatures over published documents (stdlib + PyNaCl)
- ``liabilities``  the input: per account and asset, unsigned equity and debt (msgspec)
- ``tree``         the Merkle-sum tree: shuffle, padding, levels, paths
- ``documents``    the published formats: snapshot.json, an inclusion proof, reserves.json (msgspec)
- ``build``        liabilities -> signed snapshot + one proof per account + reserves statement
- ``verify``       the standalone verifier (stdlib + PyNaCl + ``commitments`` + ``signing`` only)
- ``cli``          ``rucksack reserves snapshot | verify``
- ``chain``        the public chain of commitments: record layout, RFC 6962 segment trees, checks (stdlib + PyNaCl)
- ``exchange_check`` ``rucksack verify-exchange``: the chain and the newest snapshot's checkpoint over HTTP

This file imports nothing on purpose, so ``import rucksack.reserves.verify`` stays standalone.
"""
