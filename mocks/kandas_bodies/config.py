"""How the simulated bodies behave, as one value the CLI, the tests and `gateway up` share."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

#: The six bodies of the chain (order 170): career centre, labour mobility centre and
#: local executive body of the region of departure and of the region of settlement.
BODIES = (
    "cc_turkestan",
    "lmc_turkestan",
    "leb_turkestan",
    "cc_north_kazakhstan",
    "lmc_north_kazakhstan",
    "leb_north_kazakhstan",
)

#: What the labour mobility centre of settlement may record after its contact with the
#: kandas (p.14–16); the flow sends `interested` on to relocation, the others to p.18.
OUTCOMES = ("interested", "no_job", "declined")

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def codes(option: str, *, what: str) -> tuple[str, ...]:
    """A comma-separated list of codes (bodies or steps), checked one by one."""
    found = tuple(part.strip() for part in option.split(",") if part.strip())
    for code in found:
        if not _CODE.match(code):
            raise ValueError(f"{what}: '{code}' is not a code (lower-case letters, digits and _)")
    return found


@dataclass(frozen=True)
class Behaviour:
    """Knobs of the simulation.

    `work_seconds` is the simulated working time between taking a step and deciding it
    (0 lets a test or a benchmark measure the gateway rather than the mock). At a step in
    `return_at` the first visit (round 0) is returned with remarks and later rounds are
    forwarded, so a case comes back once and then moves on; at a step in `refuse_at`
    the body refuses with a reason. `outcome` is what the labour mobility centre of
    settlement records (p.14–16).
    """

    work_seconds: float = 1.0
    return_at: frozenset[str] = field(default_factory=frozenset)
    refuse_at: frozenset[str] = field(default_factory=frozenset)
    outcome: str = "interested"

    def __post_init__(self) -> None:
        # Fail at start-up rather than with a confusing decision hours later.
        if self.work_seconds < 0:
            raise ValueError("work_seconds must not be negative")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {self.outcome}")
        both = self.return_at & self.refuse_at
        if both:
            raise ValueError(f"a step cannot be both returned and refused: {', '.join(both)}")

    @classmethod
    def of(
        cls,
        *,
        work_seconds: float = 1.0,
        return_at: Iterable[str] = (),
        refuse_at: Iterable[str] = (),
        outcome: str = "interested",
    ) -> Behaviour:
        return cls(work_seconds, frozenset(return_at), frozenset(refuse_at), outcome)
