"""The command line shared by the REST mocks' ``python -m`` entry points.

The e-government portal and the Kandas system start the same way (a seeded synthetic
population, a ``MockAdmin`` and uvicorn); only their name, port and API path differ.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from mocks.admin import MockAdmin
from mocks.population import Population, generate_population

__all__ = ["run_rest_mock"]


def run_rest_mock(
    argv: list[str] | None,
    *,
    prog: str,
    description: str | None,
    default_port: int,
    create_app: Callable[[Population, MockAdmin], FastAPI],
    name: str,
    api_path: str,
) -> None:
    """Parse ``argv``, build the mock for a seeded population and serve it."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--seed", type=int, default=42, help="seed of the synthetic population")
    parser.add_argument("--families", type=int, default=12, help="ordinary families to make")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    population = generate_population(args.seed, families=args.families)
    app = create_app(population, MockAdmin(seed=args.seed))
    base = f"http://{args.host}:{args.port}"
    print(f"{name} at {base}{api_path} (admin: {base}/__admin)")
    # IINs are not printed, synthetic or not: the logs of a run must hold none in clear.
    # The mock bus writes sample people to .gateway/mocks/shep/sample-people.json.
    print(f"population seed {args.seed}: {len(population.people)} synthetic people")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
