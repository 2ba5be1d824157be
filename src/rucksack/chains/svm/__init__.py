"""SVM chains (Solana, Eclipse): SOL/ETH and SPL token transfers with solders and solana-py."""
