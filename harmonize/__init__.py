"""Harmonize: turn a partner table into common-schema case rows using a declarative mapping."""
