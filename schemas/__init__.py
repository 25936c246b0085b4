"""The common schema and its controlled vocabularies: the one source of truth."""
