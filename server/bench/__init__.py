"""The benchmark suite: a synthetic registry, measured phases, and the report."""
