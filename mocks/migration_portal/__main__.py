"""``python -m mocks.migration_portal --port 8250 --seed 42``: the mock migration portal."""

from __future__ import annotations

from mocks.migration_portal.app import create_app
from mocks.rest_runner import run_rest_mock


def main(argv: list[str] | None = None) -> None:
    run_rest_mock(
        argv,
        prog="python -m mocks.migration_portal",
        description=__doc__,
        default_port=8250,
        create_app=create_app,
        name="mock migration portal",
        api_path="/api/v1/applications",
    )


if __name__ == "__main__":
    main()
