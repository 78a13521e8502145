"""The one processing pipeline: the runner that streams a split through the processors, and the
per-image record table built from it (every analysis consumes these; none re-implements them)."""
