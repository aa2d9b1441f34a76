"""Stand-ins for the state bodies' information systems.

The gateway cannot be tested end to end against real ministries, so each mock plays one
body on the far side of its queue: it takes tasks exactly once, answers with status
reports on a simulated schedule, and keeps enough state on disk to survive restarts the
way a real system must. Start them with `python -m mocks.agencies run`.
"""
