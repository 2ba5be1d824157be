"""Chain primitives for the seven chains Rucksack supports, and local devnets that speak their JSON-RPC.

Layout:

- ``registry``   the chains: ids, native assets, decimals, the devnet's USDC-like token per chain
- ``units``      chain units <-> exchange atoms, with the dust rule
- ``keys``       BIP-39 seed / private key -> keys and addresses (SLIP-10 ed25519, BIP-32 secp256k1)
- ``addresses``  address validation and canonical spelling (base58 ed25519, EIP-55)
- ``transfers``  the chain-neutral decoded transfer every codec returns
- ``svm/``       Solana and Eclipse: build, sign, decode, simulate SOL and SPL transfers
- ``evm/``       Ethereum and L2s: build, sign, decode, simulate native and ERC-20 transfers
- ``devnet/``    ``rucksack devnet``: LiteSVM and py-evm behind the chains' own JSON-RPC, loopback only

Rule: nothing here imports ``rucksack.exchange`` (tests/test_architecture.py). The exchange, the
wallet and the reserves all build on this package, never the other way round.
"""
