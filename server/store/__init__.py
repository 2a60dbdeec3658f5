"""Stored responses: one table, on SQLite (the default) or PostgreSQL."""
