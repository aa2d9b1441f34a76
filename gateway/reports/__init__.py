"""Reports over the store: the quarterly monitoring report and the daily escalation digest.

They only read the store; nothing here changes a plan, so a report can be rebuilt for any
past quarter and give the same figures (see `quarterly` for the cut-off rule that keeps it
so).
"""
