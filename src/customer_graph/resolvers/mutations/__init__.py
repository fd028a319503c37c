"""One mutation per file; ``common`` holds what they all do (validation order, idempotency, journal, payload)."""
