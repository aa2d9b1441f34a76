"""``python -m mocks.labour_market --port 8260 --seed 42``: the mock labour market system."""

from __future__ import annotations

from mocks.labour_market.app import create_app
from mocks.rest_runner import run_rest_mock


def main(argv: list[str] | None = None) -> None:
    run_rest_mock(
        argv,
        prog="python -m mocks.labour_market",
        description=__doc__,
        default_port=8260,
        create_app=create_app,
        name="mock labour market system",
        api_path="/api/v1/unemployment-drafts",
    )


if __name__ == "__main__":
    main()
