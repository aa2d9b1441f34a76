"""Fault rules, triggers, scenarios, the clock and the journal, without HTTP."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from mocks.admin import (
    STARTED,
    FaultKind,
    FaultSpec,
    MockAdmin,
    MockClock,
    RequestJournal,
    Scenarios,
    truncate_body,
)


def fired(admin: MockAdmin, service: str | None, calls: int) -> list[int | None]:
    """The rule id applied to each call, None where the call went through."""
    return [(f.rule_id if (f := admin.decide(service)) else None) for _ in range(calls)]


def test_a_rule_matches_its_service_or_all() -> None:
    admin = MockAdmin()
    one = admin.add_fault({"service": "A", "kind": "http_error", "status": 503})
    assert fired(admin, "A", 2) == [one.id, one.id]
    assert fired(admin, "B", 1) == [None]
    assert fired(admin, None, 1) == [None]
    every = admin.add_fault({"kind": "malformed"})
    assert fired(admin, "B", 1) == [every.id]
    assert fired(admin, "A", 1) == [one.id], "the earlier rule wins"


def test_times_spends_the_rule_then_it_stays_listed_inactive() -> None:
    admin = MockAdmin()
    rule = admin.add_fault({"kind": "connection_reset", "times": 2})
    assert fired(admin, "A", 4) == [rule.id, rule.id, None, None]
    assert (rule.active, rule.remaining, rule.fired) == (False, 0, 2)
    assert rule.as_json()["active"] is False


def test_every_nth_counts_calls_to_the_service_whatever_fires() -> None:
    admin = MockAdmin()
    first = admin.add_fault({"kind": "delay", "delay_ms": 5, "times": 1})
    nth = admin.add_fault({"kind": "http_error", "status": 500, "every_nth": 3})
    # Call 1 is taken by the first rule but still counted by the second.
    assert fired(admin, "A", 7) == [first.id, None, nth.id, None, None, nth.id, None]


def test_every_nth_and_times_combine() -> None:
    admin = MockAdmin()
    rule = admin.add_fault({"kind": "malformed", "every_nth": 2, "times": 2})
    assert fired(admin, "A", 8) == [None, rule.id, None, rule.id, None, None, None, None]


def test_a_seeded_probability_is_repeatable_and_independent_of_other_rules() -> None:
    def run(extra_rule: bool) -> list[int | None]:
        admin = MockAdmin()
        if extra_rule:
            admin.add_fault({"service": "other", "kind": "malformed", "probability": 0.5})
        admin.add_fault({"kind": "http_error", "status": 503, "probability": 0.3, "seed": 11})
        return [None if f is None else 1 for f in map(admin.decide, ["A"] * 50)]

    draws = random.Random(11)
    expected = [1 if draws.random() < 0.3 else None for _ in range(50)]
    assert run(False) == expected
    assert run(True) == expected


def test_without_a_seed_the_admin_seed_makes_it_repeatable() -> None:
    def run(seed: int) -> list[bool]:
        admin = MockAdmin(seed=seed)
        admin.add_fault({"kind": "malformed", "probability": 0.5})
        return [admin.decide("A") is not None for _ in range(40)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_probability_edges() -> None:
    admin = MockAdmin()
    admin.add_fault({"service": "never", "kind": "malformed", "probability": 0})
    admin.add_fault({"service": "always", "kind": "malformed", "probability": 1})
    assert fired(admin, "never", 20) == [None] * 20
    assert None not in fired(admin, "always", 20)


def test_a_scenario_fails_once_then_succeeds() -> None:
    admin = MockAdmin()
    rule = admin.add_fault(
        {
            "kind": "http_error",
            "status": 503,
            "scenario": "flaky",
            "required_state": STARTED,
            "new_state": "recovered",
        }
    )
    assert fired(admin, "A", 3) == [rule.id, None, None]
    assert admin.scenarios.state("flaky") == "recovered"
    admin.scenarios.set("flaky", STARTED)
    assert fired(admin, "A", 2) == [rule.id, None]


def test_a_scenario_steps_through_states() -> None:
    admin = MockAdmin()
    steps = [("Started", "one"), ("one", "two")]
    ids = [
        admin.add_fault(
            {
                "kind": "soap_fault",
                "code": "ESRV002",
                "scenario": "s",
                "required_state": req,
                "new_state": new,
            }
        ).id
        for req, new in steps
    ]
    assert fired(admin, "A", 3) == [ids[0], ids[1], None]
    assert admin.scenarios.state("s") == "two"


def test_a_rule_without_required_state_moves_the_scenario_when_it_fires() -> None:
    admin = MockAdmin()
    admin.add_fault({"kind": "delay", "delay_ms": 1, "scenario": "s", "new_state": "slowed"})
    assert admin.scenarios.state("s") == STARTED
    admin.decide("A")
    assert admin.scenarios.state("s") == "slowed"


def test_scenarios_default_to_started_and_reset() -> None:
    scenarios = Scenarios()
    assert scenarios.state("x") == STARTED
    scenarios.set("x", "registered")
    assert scenarios.all() == {"x": "registered"}
    assert not scenarios.move_if("x", STARTED, "other")
    assert scenarios.move_if("x", "registered", None)
    scenarios.reset()
    assert scenarios.all() == {}


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"kind": "soap_fault"}, "code"),
        ({"kind": "http_error"}, "status"),
        ({"kind": "http_error", "status": 200}, "status"),
        ({"kind": "delay"}, "delay_ms"),
        ({"kind": "malformed", "probability": 1.5}, "probability"),
        ({"kind": "malformed", "every_nth": 0}, "every_nth"),
        ({"kind": "malformed", "times": 0}, "times"),
        ({"kind": "malformed", "required_state": "x"}, "required_state"),
        ({"kind": "explode"}, "kind"),
        ({"kind": "malformed", "statuss": 1}, "statuss"),
    ],
)
def test_a_bad_spec_names_its_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        FaultSpec.model_validate(spec)
    assert field in {str(e["loc"][0]) for e in caught.value.errors()}


def test_removing_and_clearing_rules() -> None:
    admin = MockAdmin()
    a = admin.add_fault(FaultSpec(kind=FaultKind.MALFORMED))
    b = admin.add_fault(FaultSpec(kind=FaultKind.TRUNCATED))
    assert admin.remove_fault(a.id) and not admin.remove_fault(a.id)
    assert [r.id for r in admin.faults()] == [b.id]
    admin.clear_faults()
    assert admin.faults() == []


def test_the_applied_fault_carries_the_rule() -> None:
    admin = MockAdmin()
    admin.add_fault({"kind": "soap_fault", "code": "EDAT002", "message": "no", "delay_ms": 20})
    fault = admin.decide("A")
    assert fault is not None
    assert (fault.label, fault.code, fault.message, fault.delay_seconds) == (
        "soap_fault#1",
        "EDAT002",
        "no",
        0.02,
    )


def test_the_clock_fixed_running_advanced_and_reset() -> None:
    real = [datetime(2026, 1, 1, tzinfo=UTC)]
    clock = MockClock(lambda: real[0])
    assert (clock.now(), clock.mode) == (real[0], "real")
    moment = datetime(2025, 3, 14, 10, tzinfo=UTC)
    clock.set(moment)
    real[0] += timedelta(minutes=5)
    assert (clock.now(), clock.mode) == (moment, "fixed")
    clock.advance(60)
    assert clock.now() == moment + timedelta(minutes=1)
    clock.set(moment, running=True)
    real[0] += timedelta(minutes=5)
    assert (clock.now(), clock.mode) == (moment + timedelta(minutes=5), "shifted")
    clock.set(datetime(2025, 3, 14, 10))  # naive: read as UTC
    assert clock.now() == moment
    clock.reset()
    assert clock.now() == real[0]


def test_the_journal_queries_and_caps_bodies() -> None:
    journal = RequestJournal(size=3, body_limit=4)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i, (service, path) in enumerate([("A", "/a"), ("B", "/b"), ("A", "/a"), ("A", "/c")]):
        journal.add(
            method="POST",
            path=path,
            service=service,
            http_status=200,
            request=b"123456",
            fault="http_error#1" if i == 3 else None,
            received_at=t0 + timedelta(seconds=i),
        )
    assert [r.id for r in journal.records()] == [2, 3, 4], "the oldest falls off"
    assert journal.count(service="A") == 2
    assert journal.count(path="/a") == 1
    assert journal.count(since=t0 + timedelta(seconds=2)) == 2
    assert journal.count(since=datetime(2026, 1, 1, 0, 0, 3)) == 1, "naive is UTC"
    assert journal.count(fault="http_error") == journal.count(fault="http_error#1") == 1
    record = journal.records()[0]
    assert record.request == b"1234" and record.request_truncated
    assert record.as_json()["request_truncated"] is True
    journal.clear()
    assert journal.records() == []


def test_reset_clears_everything() -> None:
    admin = MockAdmin()
    admin.add_fault({"kind": "malformed"})
    admin.scenarios.set("s", "x")
    admin.clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    admin.journal.add(method="GET", path="/", service=None, http_status=200)
    admin.reset()
    assert admin.faults() == [] and admin.journal.records() == []
    assert admin.scenarios.all() == {} and admin.clock.mode == "real"
    assert admin.add_fault({"kind": "malformed"}).id == 1, "ids start again"


def test_truncate_body_keeps_the_first_half() -> None:
    assert truncate_body(b"<a>1234</a>") == b"<a>12"
