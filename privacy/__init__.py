"""Privacy: the only door out of the secure zone; every published figure passes through it."""
