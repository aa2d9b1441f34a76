"""`python -m mocks.agencies run` and, mounted by the gateway CLI, `gateway mocks agencies run`.

The app has a callback so that Typer keeps `run` as a named subcommand both standalone
and when mounted with `add_typer`; without it a one-command app collapses and the two
entry points would take different arguments.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from pathlib import Path
from typing import Annotated

import typer

from contracts.broker_users import BrokerUser, users_for
from mocks.agencies.broker import BrokerUnavailable
from mocks.agencies.config import AgencyBehaviour
from mocks.agencies.runner import run_agencies

app = typer.Typer(help="Mock information systems of the state bodies.", no_args_is_help=True)

log = logging.getLogger(__name__)


@app.callback()
def main() -> None:
    """Mock information systems of the state bodies, for demos, tests and benchmarks."""


@app.command()
def run(
    agencies: Annotated[
        str | None,
        typer.Option(help="Comma-separated agency codes; default: the first four bodies."),
    ] = None,
    amqp_url: Annotated[
        str,
        typer.Option(
            envvar="GATEWAY_AMQP_URL",
            help="RabbitMQ URL, or a cluster's nodes separated by commas.",
        ),
    ] = "amqp://guest:guest@127.0.0.1:5672/",
    prefix: Annotated[
        str, typer.Option(envvar="GATEWAY_AMQP_PREFIX", help="Exchange and queue name prefix.")
    ] = "gw",
    state_dir: Annotated[
        Path, typer.Option(help="Directory of the mocks' SQLite files (one per agency).")
    ] = Path(".gateway/mocks"),
    work_seconds: Annotated[
        float, typer.Option(min=0.0, help="Simulated time between two reports on a task.")
    ] = 1.0,
    jitter: Annotated[
        float, typer.Option(min=0.0, help="Random spread of the work time, in seconds (±).")
    ] = 0.0,
    reject_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of new tasks refused as out of competence."),
    ] = 0.0,
    rework_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of returned tasks that are reworked.")
    ] = 0.9,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 42,
    prefetch: Annotated[int, typer.Option(min=1, help="Unacknowledged messages per agency.")] = 50,
    delivery_limit: Annotated[
        int,
        typer.Option(envvar="GATEWAY_DELIVERY_LIMIT", min=1, help="Must match the gateway's."),
    ] = 5,
    admin_port: Annotated[
        int,
        typer.Option(
            min=0, max=65535, help="Port of the admin API (/__admin) on 127.0.0.1; 0 turns it off."
        ),
    ] = 8230,
    broker_users: Annotated[
        Path | None,
        typer.Option(
            envvar="GATEWAY_BROKER_USERS_FILE",
            help="The bodies' own broker users (written by `gateway broker provision`): each "
            "body connects as its own user and signs its reports with it. Without it, every "
            "body uses --amqp-url's user.",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG shows every message.")] = "INFO",
) -> None:
    """Serve the agencies' queues until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    codes = _agency_codes(agencies)
    behaviour = AgencyBehaviour(
        work_seconds=work_seconds,
        jitter=jitter,
        reject_rate=reject_rate,
        rework_rate=rework_rate,
        seed=seed,
    )
    users = _broker_users(broker_users, codes)
    try:
        asyncio.run(
            _serve(
                codes,
                broker_users=users,
                amqp_url=amqp_url,
                prefix=prefix,
                state_dir=state_dir,
                behaviour=behaviour,
                prefetch=prefetch,
                delivery_limit=delivery_limit,
                admin_port=admin_port,
            )
        )
    except BrokerUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


#: The bodies whose systems this mock stands for: the four of order 192 that connect first.
#: The gateway's `up` passes its own list of connected bodies with `--agencies`.
DEFAULT_AGENCIES = ("health", "education", "housing", "internal_affairs")

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def _agency_codes(option: str | None) -> list[str]:
    if option is None:
        return list(DEFAULT_AGENCIES)
    codes = [code.strip() for code in option.split(",") if code.strip()]
    if not codes:
        raise typer.BadParameter("give at least one agency code", param_hint="--agencies")
    for code in codes:
        if not _CODE.match(code):
            raise typer.BadParameter(
                f"'{code}' is not an agency code (lower-case letters, digits and _)",
                param_hint="--agencies",
            )
        if code not in DEFAULT_AGENCIES:
            log.warning("agency '%s' is not one of the first four bodies; is it connected?", code)
    return codes


def _broker_users(path: Path | None, codes: list[str]) -> dict[str, BrokerUser] | None:
    if path is None:
        return None
    try:
        return users_for(path, codes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--broker-users") from None


async def _serve(
    codes: list[str],
    *,
    broker_users: dict[str, BrokerUser] | None,
    amqp_url: str,
    prefix: str,
    state_dir: Path,
    behaviour: AgencyBehaviour,
    prefetch: int,
    delivery_limit: int,
    admin_port: int,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = (signal.SIGTERM, signal.SIGINT)
    for signum in handled:
        loop.add_signal_handler(signum, stop.set)
    try:
        await run_agencies(
            codes,
            amqp_url=amqp_url,
            prefix=prefix,
            state_dir=state_dir,
            behaviour=behaviour,
            stop=stop,
            prefetch=prefetch,
            delivery_limit=delivery_limit,
            admin_port=admin_port or None,
            broker_users=broker_users,
        )
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
