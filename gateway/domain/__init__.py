"""The domain core: the plan's and tasks' rules and deadlines, with no I/O.

Everything here takes plain values (states, timestamps, a calendar) and returns plain
values, so it is tested without a broker or a database and reused by every edge.
"""
