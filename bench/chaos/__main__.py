"""`python -m bench.chaos`: the long chaos drill (see `bench/chaos/drill.py`).

Prints progress to stderr and the counts to stdout; exits 1 when anything was lost,
doubled, left unrecorded or unsettled.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench.chaos.drill import DEFAULT_PG_URL, DrillConfig, run_drill


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks in flight (4 per plan)")
    parser.add_argument("--concurrency", type=int, default=16, help="centres submitting at once")
    parser.add_argument("--gateway-kills", type=int, default=3)
    parser.add_argument("--broker-restarts", type=int, default=2)
    parser.add_argument("--broker-down-seconds", type=float, default=3.0)
    parser.add_argument("--bus-failure-rate", type=float, default=0.2)
    parser.add_argument("--lookup-every", type=int, default=10)
    parser.add_argument("--down-agency", default="housing")
    parser.add_argument("--work-seconds", type=float, default=1.0)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="a role that may CREATE DATABASE")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--dir", type=Path, default=None, help="where logs and journals go")
    parser.add_argument("--keep", action="store_true", help="keep the directory after success")
    args = parser.parse_args(argv)
    config = DrillConfig(
        tasks=args.tasks,
        concurrency=args.concurrency,
        gateway_kills=args.gateway_kills,
        broker_restarts=args.broker_restarts,
        broker_down_seconds=args.broker_down_seconds,
        bus_failure_rate=args.bus_failure_rate,
        lookup_every=args.lookup_every,
        down_agency=args.down_agency,
        work_seconds=args.work_seconds,
        pg_admin_url=args.pg_url,
        timeout=args.timeout,
        root=args.dir,
        keep=args.keep,
    )
    result = asyncio.run(run_drill(config, lambda line: print(line, file=sys.stderr, flush=True)))
    print(result.report())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
