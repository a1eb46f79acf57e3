"""A contract-to-cash traffic generator that drives a running c2c-ops through its real APIs."""
