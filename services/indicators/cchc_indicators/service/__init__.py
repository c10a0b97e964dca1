"""Use cases: figures, catalogue, targets; they read through store/ and compute with domain/."""
