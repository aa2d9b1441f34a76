"""A flow of hand-overs between bodies, as data, and the rules that run every flow.

Every flow of the seeds is the same kind of thing: a case whose steps are owned by bodies,
each step with a term in working days, decisions that move it on or back, checks that
must pass, and a timeline. What differs is data: which steps, which owners, which terms.
So a flow is a file (`gateway/flows/<id>.json`), validated when the process starts, and
this module is the one engine that every flow runs on:

- a step's lifecycle is a small state machine (`transitions`, `noops`) over string
  states the flow names, so the ИПР's task states and the kandas chain's step states are
  both rows of the same table, moved by the same code;
- clocks (`clocks`) are terms in working days, computed once by `gateway.domain.deadlines`
  and stored, watched by the one deadline watcher;
- a chain flow (`shape: chain`) also has `steps`: who owns each, which role signs, the
  term, what the decision must carry (`requires`), named checks (code, in the flow's own
  module, for what data cannot say), and where each decision leads (`decisions`, with
  branches chosen by the decision's data).

The ИПР (order 192) is the fan-out case: one step per body at once. The kandas
application (order 170) is the chain: one step at a time, handed on by signature.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FLOWS_DIR = Path(__file__).resolve().parent.parent / "flows"

#: Where a chain's decision leads when the case is done.
COMPLETE = "@complete"


class InvalidTransition(ValueError):
    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"a task that is {state} cannot take '{event}'")
        self.state = state
        self.event = event


class Localized(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ru: str
    kk: str


class Clock(BaseModel):
    """A term: `working_days` from the event that starts it (order and clause named)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    working_days: int = Field(gt=0)
    clause: str
    warn_fraction: float = Field(default=0.75, gt=0, lt=1)
    starts_in: tuple[str, ...] = Field(
        default=(),
        description=(
            "States whose entry starts this clock (a fan-out flow's review term starts on "
            "a report and on a refusal alike); empty when code starts it at a named event."
        ),
    )


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: tuple[str, ...] = Field(alias="from")
    on: str
    to: str


class Noop(BaseModel):
    """Events that are harmless repeats in these states: recorded, not a transition."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    in_: tuple[str, ...] = Field(alias="in")
    on: str


class Owner(BaseModel):
    """Which body owns a step: its kind, and whose region picks the body.

    The kandas chain names the regions of departure and settlement; the e-government
    flows name the region of the register's recipient (the regional office) and of the
    applicant's residence (the district office).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    region: Literal["departure", "settlement", "recipient", "residence"]


class Branch(BaseModel):
    """Where a decision leads; `when` picks the branch by the decision's data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: str
    when: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def matches(self, data: Mapping[str, object]) -> bool:
        return all(str(data.get(key)) in values for key, values in self.when.items())


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(max_length=24)
    title: Localized
    clause: str
    owner: Owner
    role: Literal["specialist", "head"]
    term: str = Field(description="The clock that runs while the step is the owner's.")
    requires: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    decisions: dict[str, tuple[Branch, ...]]


class Flow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: Localized
    act: str
    shape: Literal["fan_out", "chain"]
    states: tuple[str, ...]
    initial_state: str
    terminal_states: tuple[str, ...]
    transitions: tuple[Transition, ...]
    noops: tuple[Noop, ...] = ()
    clocks: tuple[Clock, ...]
    steps: tuple[Step, ...] = ()
    first_step: str | None = None
    decision_events: dict[str, str] = Field(
        default_factory=dict, description="Which step event each decision is (chain flows)."
    )

    # The lookups every status report makes. Cached properties, not private attributes:
    # a pydantic private attribute is read through `BaseModel.__getattr__`, which cost the
    # collector 2 % of the gateway's CPU at full load (py-spy); a cached property is a plain
    # instance attribute after its first read.
    @cached_property
    def _transitions(self) -> dict[tuple[str, str], str]:
        return {(s, t.on): t.to for t in self.transitions for s in t.from_}

    @cached_property
    def _noops(self) -> frozenset[tuple[str, str]]:
        return frozenset((s, n.on) for n in self.noops for s in n.in_)

    @model_validator(mode="after")
    def _consistent(self) -> Flow:
        states = set(self.states)
        problems: list[str] = []
        if len(states) != len(self.states):
            problems.append("a state is named twice")
        for state in (self.initial_state, *self.terminal_states):
            if state not in states:
                problems.append(f"state '{state}' is not declared in states")
        for t in self.transitions:
            for state in (*t.from_, t.to):
                if state not in states:
                    problems.append(f"transition on '{t.on}' names unknown state '{state}'")
        seen: set[tuple[str, str]] = set()
        for t in self.transitions:
            for state in t.from_:
                if (state, t.on) in seen:
                    problems.append(f"two transitions from '{state}' on '{t.on}'")
                seen.add((state, t.on))
        for n in self.noops:
            for state in n.in_:
                if state not in states:
                    problems.append(f"noop on '{n.on}' names unknown state '{state}'")
        for c in self.clocks:
            for state in c.starts_in:
                if state not in states:
                    problems.append(f"clock '{c.name}' starts in unknown state '{state}'")
        clock_names = {c.name for c in self.clocks}
        if len(clock_names) != len(self.clocks):
            problems.append("a clock is named twice")
        problems += self._chain_problems(clock_names)
        if problems:
            raise ValueError(f"flow '{self.id}': " + "; ".join(problems))
        return self

    def _chain_problems(self, clock_names: set[str]) -> list[str]:
        if self.shape == "fan_out":
            return ["a fan-out flow has no steps"] if self.steps else []
        problems = []
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            problems.append("a step is named twice")
        if self.first_step not in ids:
            problems.append(f"first_step '{self.first_step}' is not a step")
        events = {t.on for t in self.transitions}
        for step in self.steps:
            if step.term not in clock_names:
                problems.append(f"step '{step.id}' runs unknown clock '{step.term}'")
            if not step.decisions:
                problems.append(f"step '{step.id}' allows no decision")
            for decision, branches in step.decisions.items():
                if self.decision_events.get(decision) not in events:
                    problems.append(f"decision '{decision}' is no event of the step lifecycle")
                if not branches or branches[-1].when:
                    problems.append(
                        f"step '{step.id}': '{decision}' needs a last branch without when"
                    )
                for branch in branches:
                    if branch.to != COMPLETE and branch.to not in ids:
                        problems.append(
                            f"step '{step.id}': '{decision}' leads to unknown '{branch.to}'"
                        )
        reachable = self._reachable()
        for step_id in ids:
            if step_id not in reachable:
                problems.append(f"step '{step_id}' cannot be reached from '{self.first_step}'")
        return problems

    def _reachable(self) -> set[str]:
        by_id = {s.id: s for s in self.steps}
        todo = [self.first_step] if self.first_step in by_id else []
        seen: set[str] = set()
        while todo:
            current = todo.pop()
            if current in seen or current not in by_id:
                continue
            seen.add(current)
            todo += [b.to for bs in by_id[current].decisions.values() for b in bs]
        return seen

    # --- the step lifecycle ---------------------------------------------------------

    def next_state(self, state: str, event: str) -> str:
        """The state after `event`; raises InvalidTransition when the event does not fit."""
        target = self._transitions.get((state, event))
        if target is None:
            raise InvalidTransition(state, event)
        return target

    def is_noop(self, state: str, event: str) -> bool:
        return (state, event) in self._noops

    def is_terminal(self, state: str) -> bool:
        return state in self.terminal_states

    def clock(self, name: str) -> Clock:
        for clock in self.clocks:
            if clock.name == name:
                return clock
        raise KeyError(f"flow '{self.id}' has no clock '{name}'")

    # --- the chain ------------------------------------------------------------------

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"flow '{self.id}' has no step '{step_id}'")

    def route(self, step_id: str, decision: str, data: Mapping[str, object]) -> str | None:
        """The step a decision leads to, `COMPLETE`, or None when the step does not allow it."""
        branches = self.step(step_id).decisions.get(decision)
        if branches is None:
            return None
        return next(b.to for b in branches if b.matches(data))


def parse_flow(document: Mapping[str, object]) -> Flow:
    return Flow.model_validate(document)


@cache
def load_flow(flow_id: str) -> Flow:
    """The flow from its file; a malformed file fails the process at start, naming why."""
    path = FLOWS_DIR / f"{flow_id}.json"
    return parse_flow(json.loads(path.read_text(encoding="utf-8")))


def load_all() -> dict[str, Flow]:
    return {path.stem: load_flow(path.stem) for path in sorted(FLOWS_DIR.glob("*.json"))}
