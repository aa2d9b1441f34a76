"""``python -m mocks.egov --port 8210 --seed 42``: the mock portal for development."""

from __future__ import annotations

from mocks.egov.app import create_app
from mocks.rest_runner import run_rest_mock


def main(argv: list[str] | None = None) -> None:
    run_rest_mock(
        argv,
        prog="python -m mocks.egov",
        description=__doc__,
        default_port=8210,
        create_app=create_app,
        name="mock e-government portal",
        api_path="/api/v1/appeals",
    )


if __name__ == "__main__":
    main()
