"""Chaos drills: the system run through broker restarts, lost nodes, killed processes, a
body that is down for a day and a failing e-government bus, then checked for losses.

`python -m bench.chaos` is the long drill; `tests/e2e/test_chaos.py` runs a short one in
the test suite. `bench.chaos.nodes` starts the throwaway RabbitMQ nodes (and the 3-node
cluster of `scripts/rabbitmq-cluster`) that the drills restart and kill, so the shared
broker on 5672 is never touched.
"""
