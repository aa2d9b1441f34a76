"""`python -m bench.audit_seal URL`: the sealer's CPU a record, in one process.

The sealer chains four records a task (gateway/audit_sealer.py), so its cost a record is
a direct part of the gateway's CPU a task. This inserts `--records` unsealed records into
the store at URL (migrated first, as `gateway serve` does; its audit log is emptied, so
give it a database of its own), seals them in one round, and prints the least CPU time a
record over `--rounds` rounds: the least, because the machine's other load only ever adds.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import typer
from sqlalchemy import delete

from gateway.audit_sealer import seal
from gateway.services import audit_log
from gateway.store.engine import open_engine
from gateway.store.migrate import upgrade
from gateway.store.tables import audit_log as audit_log_table

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


async def measure(url: str, records: int, rounds: int) -> float:
    """The least CPU seconds a record that `seal` took over `rounds` rounds."""
    engine = open_engine(url)
    try:
        await upgrade(engine)
        best = float("inf")
        for _ in range(rounds):
            now = datetime.now(UTC)
            async with engine.begin() as conn:
                await conn.execute(delete(audit_log_table))
                await audit_log.record_many(
                    conn,
                    [
                        audit_log.audit_row(
                            at=now,
                            actor="agency:health",
                            action="task_received",
                            case_id=f"bench-plan-{i // 4:06d}",
                            task_id=f"bench-task-{i:06d}",
                            data={"from_state": "dispatched", "to_state": "received"},
                        )
                        for i in range(records)
                    ],
                )
            started = time.process_time()
            sealed = await seal(engine, limit=records)
            spent = time.process_time() - started
            if sealed != records:
                raise RuntimeError(f"sealed {sealed} of {records} records")
            best = min(best, spent / records)
        return best
    finally:
        await engine.dispose()


@app.command()
def main(
    url: str = typer.Argument(..., help="Store URL, as GATEWAY_DATABASE_URL."),
    records: int = typer.Option(2000, min=1, help="Records sealed in each round."),
    rounds: int = typer.Option(15, min=1, help="Rounds; the least is printed."),
) -> None:
    best = asyncio.run(measure(url, records, rounds))
    typer.echo(f"seal: {best * 1e6:.1f} µs of CPU a record ({records} records, least of {rounds})")


if __name__ == "__main__":
    app()
