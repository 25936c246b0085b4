"""Ingest: turn uploaded bytes into a table of strings and an Upload record, safely."""
