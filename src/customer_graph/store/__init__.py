"""Persistence behind one interface: SQLite by default, PostgreSQL for replicas."""
