"""Order book and matching: knows orders and prices, never balances."""
