"""Use cases: each runs inside one database transaction handed in by the caller.

The caller (an API route or a broker consumer) owns the transaction, so that a use case
and the outbox rows it writes commit together or not at all.
"""
