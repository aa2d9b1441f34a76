"""The sweep never touches a live run's names (another developer's tests on one broker)."""

from tests.broker_sweep import leftover_users, leftovers


def test_a_prefix_with_a_consumer_is_left_alone() -> None:
    queues = [
        ("tabcdef0123.status", 1),  # a live harness: its collector consumes here
        ("tabcdef0123.agency.health", 0),
        ("t0011223344.status", 0),  # a killed run
        ("t0011223344.agency.health", 0),
        ("t55667788.agency.health", 0),
    ]
    exchanges = ["tabcdef0123.tasks", "t0011223344.tasks", "t99999999.dlx"]
    gone_queues, gone_exchanges = leftovers(queues, exchanges)
    assert gone_queues == [
        "t0011223344.status",
        "t0011223344.agency.health",
        "t55667788.agency.health",
    ]
    assert gone_exchanges == ["t0011223344.tasks", "t99999999.dlx"]


def test_only_the_body_users_of_finished_test_runs_are_swept() -> None:
    queues = [("tabcdef0123.status", 1), ("t0011223344.status", 0)]
    users = [
        "guest",
        "gw.body.health",  # a deployment's own prefix, never a test's
        "tabcdef0123.body.health",  # a live run
        "t0011223344.body.health",  # a finished one
        "t55667788.body.housing",  # a killed run whose queues are already gone
    ]
    assert leftover_users(queues, users) == ["t0011223344.body.health", "t55667788.body.housing"]
