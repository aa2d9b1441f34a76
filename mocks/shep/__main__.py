"""``python -m mocks.shep --port 8200 --seed 42``: the mock bus for development.

Keys and the sender's password live in ``--state-dir`` (made on first run) so that a
client configured once keeps working across restarts; the command prints what a
client needs.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import uvicorn

from mocks.population import Population, generate_population
from mocks.shep.app import create_app
from mocks.shep.config import config_for, dev_credentials

SAMPLE_FILE = "sample-people.json"
_RELATIONS = {"father": "applicant", "mother": "spouse", "child": "child"}


def write_sample(population: Population, path: Path) -> None:
    """People a developer (or `gateway demo`) can try, named by what makes each one
    interesting; synthetic, like everything this bus answers."""
    kandas = population.family_of(population.foreign_iin)
    assert kandas is not None
    sample = {
        "note": "synthetic people of the mock registries; never real persons",
        "seed": population.seed,
        "kandas_family": [
            {"iin": m.iin, "relation": _RELATIONS.get(m.role, "other")} for m in kandas.members
        ],
        "awkward": {
            "absent": population.absent_iin,
            "deceased": population.deceased_iin,
            "temporary_registration": population.temporary_iin,
            "guarded_child": population.guarded_child_iin,
            "adopted_child": population.adopted_child_iin,
            "kandas_without_registration": population.kandas_without_registration_iin,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sample, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mocks.shep", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--seed", type=int, default=42, help="seed of the synthetic population")
    parser.add_argument("--families", type=int, default=12, help="ordinary families to make")
    parser.add_argument(
        "--state-dir", type=Path, default=Path(".gateway/mocks/shep"), help="keys and password"
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    credentials = dev_credentials(args.state_dir)
    config = config_for(credentials)
    population = generate_population(args.seed, families=args.families)
    app = create_app(population, config)
    address = f"http://{args.host}:{args.port}{config.path}"
    print(f"mock ШЭП bus at {address} (WSDL: {address}?wsdl)")
    print(f"sender {credentials.sender_id}; password, keys and certificates in {args.state_dir}/")
    write_sample(population, args.state_dir / SAMPLE_FILE)
    # IINs are not printed, synthetic or not: the logs of a run must hold none in clear.
    print(
        f"population seed {args.seed}: {len(population.people)} synthetic people; "
        f"samples (a person nobody holds, a deceased one, a temporary registration) in "
        f"{args.state_dir / SAMPLE_FILE}"
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
