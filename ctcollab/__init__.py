"""ctcollab: the composition root (settings, database, CLI, pipeline wiring)."""
