"""Reports over the store: the quarterly monitoring report and the daily escalation digest.

They only read: the store, and for the quarterly report the digital family card through
its adapter. Nothing here changes a plan, so a report can be rebuilt for any past quarter
and give the same figures from the store (see `quarterly` for the cut-off rule that keeps
it so); the family card's part says when it was fetched, since the card may learn more.
"""
