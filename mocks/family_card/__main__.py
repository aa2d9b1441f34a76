"""``python -m mocks.family_card --port 8240 --seed 42``: the mock family card for development."""

from __future__ import annotations

from contracts.family_card import STATUS_CHANGES_PATH
from mocks.family_card.app import create_app
from mocks.rest_runner import run_rest_mock


def main(argv: list[str] | None = None) -> None:
    run_rest_mock(
        argv,
        prog="python -m mocks.family_card",
        description=__doc__,
        default_port=8240,
        create_app=create_app,
        name="mock digital family card (ЦКС)",
        api_path=STATUS_CHANGES_PATH,
    )


if __name__ == "__main__":
    main()
