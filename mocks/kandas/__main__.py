"""``python -m mocks.kandas --port 8220 --seed 42``: the mock Kandas system for development."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from mocks.admin import MockAdmin
from mocks.kandas.app import create_app
from mocks.population import generate_population


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mocks.kandas", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8220)
    parser.add_argument("--seed", type=int, default=42, help="seed of the synthetic population")
    parser.add_argument("--families", type=int, default=12, help="ordinary families to make")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    population = generate_population(args.seed, families=args.families)
    app = create_app(population, MockAdmin(seed=args.seed))
    base = f"http://{args.host}:{args.port}"
    print(f"mock Kandas system at {base}/api/v1/adaptation-plans (admin: {base}/__admin)")
    print(
        f"population seed {args.seed}: {len(population.people)} people, e.g. "
        f"{population.families[0].members[0].iin}; nobody holds {population.absent_iin}"
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
