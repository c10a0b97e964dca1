"""Use cases: they validate, change rows, write audit entries and outbox events in the caller's
transaction, and never commit."""
