"""EVM chains (Ethereum, Base, Arbitrum, Optimism, Polygon): ERC-20 codec and transfers."""
