"""API: the public read-only API and site over releases, and the partner upload surface."""
