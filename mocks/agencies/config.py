"""How a simulated body behaves, as one value that the CLI, tests and benchmarks share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AgencyBehaviour:
    """Knobs of the simulation.

    `work_seconds` is the simulated time between two reports on a task (0 lets a benchmark
    measure the gateway rather than the mock); `jitter` widens it by up to that many
    seconds either way so that reports do not arrive in lockstep. The rates are
    probabilities in [0, 1]; `seed` makes every draw repeatable.
    """

    work_seconds: float = 1.0
    jitter: float = 0.0
    reject_rate: float = 0.0
    rework_rate: float = 0.9
    seed: int = 42

    def __post_init__(self) -> None:
        # Fail at start-up rather than with a confusing schedule hours later.
        if self.work_seconds < 0:
            raise ValueError("work_seconds must not be negative")
        if self.jitter < 0:
            raise ValueError("jitter must not be negative")
        for name in ("reject_rate", "rework_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
