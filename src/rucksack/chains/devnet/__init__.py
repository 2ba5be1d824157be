"""``rucksack devnet``: every chain on one loopback JSON-RPC server, in process.

- ``genesis``    the public devnet mnemonic, faucet keys, token mint/contract (deterministic)
- ``svm_node``   Solana/Eclipse JSON-RPC methods over a LiteSVM instance (solders)
- ``evm_node``   Ethereum-style JSON-RPC over eth-tester/py-evm, one per EVM chain, chain id enforced
- ``server``     the HTTP server: ``POST /<chain-key>`` -> that chain's node; ``Devnet`` start/stop
- ``cli``        the ``rucksack devnet`` subcommand
"""

DEFAULT_PORT = 8899  # solana-test-validator's port; chains are paths: http://127.0.0.1:8899/solana
