"""Compatibility with the original Prunerr: what its API's clients send and expect that this
project's own model says differently (its JSON condition trees, converted to rule conditions)."""
