"""Publish: write immutable, versioned release folders."""
