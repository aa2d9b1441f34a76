"""``python -m mocks.kandas --port 8220 --seed 42``: the mock Kandas system for development."""

from __future__ import annotations

from mocks.kandas.app import create_app
from mocks.rest_runner import run_rest_mock


def main(argv: list[str] | None = None) -> None:
    run_rest_mock(
        argv,
        prog="python -m mocks.kandas",
        description=__doc__,
        default_port=8220,
        create_app=create_app,
        name="mock Kandas system",
        api_path="/api/v1/adaptation-plans",
    )


if __name__ == "__main__":
    main()
