"""``python -m mocks.ca --port 8270 --state-dir .gateway/mocks/ca --seed 42``: the mock CA.

Makes (or reuses) the root and the officials' keys in ``--state-dir`` before serving,
and prints where they are; see mocks/ca/README.md.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from mocks.admin import MockAdmin
from mocks.ca.app import create_app
from mocks.ca.state import CaState


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mocks.ca", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8270)
    parser.add_argument("--seed", type=int, default=42, help="seed of the officials' names")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".gateway/mocks/ca"),
        help="root, officials' keys and certificates",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    admin = MockAdmin(seed=args.seed)
    state = CaState(args.state_dir, seed=args.seed, clock=admin.clock)
    app = create_app(state, admin)
    base = f"http://{args.host}:{args.port}"
    print(f"mock certification authority at {base}/ca.pem (admin: {base}/__admin)")
    print(
        f"root {state.root_file}; {len(state.officials)} officials' keys and certificates "
        f"in {args.state_dir / 'officials'}/ (index: {args.state_dir / 'officials.json'})"
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
