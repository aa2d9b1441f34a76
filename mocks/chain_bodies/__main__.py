"""`python -m mocks.chain_bodies`: the six bodies of the kandas chain, acting on their own.

Each consumes its queue, decides after `--work-seconds`, signs as its official of the
step's role (keys from the mock certification authority's `--ca-dir`) and publishes the
decision on the status exchange. `--return-at lmc_review` returns the first visit of that
step with remarks (p.9), as `gateway up` does for the demo.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from mocks.chain_bodies.body import Behaviour, run

BODIES = (
    "cc_turkestan", "lmc_turkestan", "leb_turkestan",
    "cc_north_kazakhstan", "lmc_north_kazakhstan", "leb_north_kazakhstan",
)  # fmt: skip


def _steps(value: str) -> frozenset[str]:
    return frozenset(s.strip() for s in value.split(",") if s.strip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mocks.chain_bodies", description=__doc__)
    parser.add_argument("--bodies", default=",".join(BODIES))
    parser.add_argument(
        "--amqp-url",
        default=os.environ.get("GATEWAY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    parser.add_argument("--prefix", default=os.environ.get("GATEWAY_AMQP_PREFIX", "gw"))
    parser.add_argument("--state-dir", type=Path, default=Path(".gateway/mocks/chain_bodies"))
    parser.add_argument("--ca-dir", type=Path, default=Path(".gateway/mocks/ca"))
    parser.add_argument("--work-seconds", type=float, default=1.0)
    parser.add_argument("--return-at", type=_steps, default=frozenset())
    parser.add_argument("--refuse-at", type=_steps, default=frozenset())
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    behaviour = Behaviour(args.work_seconds, args.return_at, args.refuse_at)
    codes = [c.strip() for c in args.bodies.split(",") if c.strip()]

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(codes, args.amqp_url, args.prefix, args.state_dir, args.ca_dir, behaviour, stop)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
