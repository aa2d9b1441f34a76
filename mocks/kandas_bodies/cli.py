"""`python -m mocks.kandas_bodies run`: the six bodies of the kandas chain, acting on their own.

The app has a callback so that Typer keeps `run` as a named subcommand both standalone
and if the gateway CLI mounts it with `add_typer`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from contracts.broker_users import BrokerUser, users_for
from mocks.kandas_bodies.broker import BrokerUnavailable
from mocks.kandas_bodies.config import BODIES, OUTCOMES, Behaviour, codes
from mocks.kandas_bodies.runner import run_bodies

app = typer.Typer(
    help="Mock information systems of the kandas chain's bodies.", no_args_is_help=True
)

log = logging.getLogger(__name__)


@app.callback()
def main() -> None:
    """Mock information systems of the kandas chain's bodies (order 170)."""


def _codes(option: str, hint: str) -> tuple[str, ...]:
    try:
        return codes(option, what=hint)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None


@app.command()
def run(
    bodies: Annotated[
        str, typer.Option(help="Comma-separated body codes; default: all six.")
    ] = ",".join(BODIES),
    amqp_url: Annotated[
        str, typer.Option(envvar="GATEWAY_AMQP_URL", help="RabbitMQ URL.")
    ] = "amqp://guest:guest@127.0.0.1:5672/",
    prefix: Annotated[
        str, typer.Option(envvar="GATEWAY_AMQP_PREFIX", help="Exchange and queue name prefix.")
    ] = "gw",
    state_dir: Annotated[
        Path, typer.Option(help="Directory of the bodies' SQLite journals (one per body).")
    ] = Path(".gateway/mocks/kandas_bodies"),
    ca_dir: Annotated[
        Path, typer.Option(help="The mock certification authority's state directory.")
    ] = Path(".gateway/mocks/ca"),
    work_seconds: Annotated[
        float, typer.Option(min=0.0, help="Simulated working time before each decision.")
    ] = 1.0,
    return_at: Annotated[
        str, typer.Option(help="Steps whose first visit is returned with remarks, e.g. lmc_review.")
    ] = "",
    refuse_at: Annotated[str, typer.Option(help="Steps that are refused with a reason.")] = "",
    outcome: Annotated[
        str,
        typer.Option(
            help=f"What the settlement's labour mobility centre records: {', '.join(OUTCOMES)}."
        ),
    ] = "interested",
    prefetch: Annotated[int, typer.Option(min=1, help="Unacknowledged messages per body.")] = 50,
    delivery_limit: Annotated[
        int,
        typer.Option(envvar="GATEWAY_DELIVERY_LIMIT", min=1, help="Must match the gateway's."),
    ] = 5,
    admin_port: Annotated[
        int,
        typer.Option(
            min=0, max=65535, help="Port of the admin API (/__admin) on 127.0.0.1; 0 turns it off."
        ),
    ] = 8280,
    broker_users: Annotated[
        Path | None,
        typer.Option(
            envvar="GATEWAY_BROKER_USERS_FILE",
            help="The bodies' own broker users (written by `gateway broker provision`): each "
            "body connects as its own user and sets it on its decisions. Without it, every "
            "body uses --amqp-url's user.",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG shows every duplicate.")] = "INFO",
) -> None:
    """Serve the bodies' queues until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    served = _codes(bodies, "--bodies")
    if not served:
        raise typer.BadParameter("give at least one body code", param_hint="--bodies")
    for code in served:
        if code not in BODIES:
            log.warning("body '%s' is not one of the chain's six; is it connected?", code)
    try:
        behaviour = Behaviour.of(
            work_seconds=work_seconds,
            return_at=_codes(return_at, "--return-at"),
            refuse_at=_codes(refuse_at, "--refuse-at"),
            outcome=outcome,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        users = users_for(broker_users, served) if broker_users is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--broker-users") from None
    try:
        asyncio.run(
            _serve(
                served,
                broker_users=users,
                amqp_url=amqp_url,
                prefix=prefix,
                state_dir=state_dir,
                ca_dir=ca_dir,
                behaviour=behaviour,
                prefetch=prefetch,
                delivery_limit=delivery_limit,
                admin_port=admin_port,
            )
        )
    except BrokerUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


async def _serve(
    served: tuple[str, ...],
    *,
    broker_users: dict[str, BrokerUser] | None,
    amqp_url: str,
    prefix: str,
    state_dir: Path,
    ca_dir: Path,
    behaviour: Behaviour,
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
        await run_bodies(
            served,
            amqp_url=amqp_url,
            prefix=prefix,
            state_dir=state_dir,
            ca_dir=ca_dir,
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
