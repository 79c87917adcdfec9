"""The pure core: money, assets, transfers and state machines; no I/O, no clock, no randomness."""
