"""The gateway's store: tables, engine set-up and migrations (SQLite or PostgreSQL)."""
