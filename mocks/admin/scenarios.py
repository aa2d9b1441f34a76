"""Named state machines, so one rule can depend on what earlier calls did.

As in WireMock: every scenario starts in ``STARTED``; a fault rule may require a state
and move the scenario to a new one when it fires; a developer or a test may also set
the state directly (``PUT /__admin/scenarios/{name}``). Mocks read the state to vary
their normal answers (e.g. "not found until ``registered``").
"""

from __future__ import annotations

import threading

STARTED = "Started"


class Scenarios:
    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._lock = threading.Lock()

    def state(self, name: str) -> str:
        with self._lock:
            return self._states.get(name, STARTED)

    def set(self, name: str, state: str) -> None:
        with self._lock:
            self._states[name] = state

    def move_if(self, name: str, expected: str | None, new: str | None) -> bool:
        """Check ``expected`` (None: any) and, if it holds, move to ``new`` (None: stay).

        Atomic, so two concurrent calls cannot both see the state a rule expects.
        """
        with self._lock:
            current = self._states.get(name, STARTED)
            if expected is not None and current != expected:
                return False
            if new is not None:
                self._states[name] = new
            return True

    def holds(self, name: str, expected: str) -> bool:
        return self.state(name) == expected

    def all(self) -> dict[str, str]:
        with self._lock:
            return dict(self._states)

    def reset(self) -> None:
        with self._lock:
            self._states.clear()
