"""`gateway broker provision|deprovision`: the bodies' own broker identities."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from gateway.config import Settings

broker_app = typer.Typer(help="The bodies' identities on RabbitMQ.", no_args_is_help=True)


@broker_app.command("provision")
def broker_provision(
    bodies: Annotated[
        str | None, typer.Option(help="Comma-separated body codes; default every connected body.")
    ] = None,
) -> None:
    """Create (or bring up to date) one RabbitMQ user per connected body; idempotent."""
    from gateway.agencies import load_agencies
    from gateway.broker.provision import ProvisionError, Rabbitmqctl, provision

    settings = Settings()
    codes = (
        [c.strip() for c in bodies.split(",") if c.strip()]
        if bodies
        else list(load_agencies(settings.agencies_file).enabled_codes())
    )
    ctl = Rabbitmqctl(settings.rabbitmqctl, settings.broker_vhost)
    try:
        made = asyncio.run(provision(ctl, settings.amqp_prefix, codes, settings.broker_users_file))
    except ProvisionError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    for entry in made:
        typer.echo(f"{entry.body:<24} {entry.user}")
    typer.echo(f"credentials in {settings.broker_users_file}")


@broker_app.command("deprovision")
def broker_deprovision() -> None:
    """Delete this prefix's body users (never guest, never another prefix's)."""
    from gateway.broker.provision import Rabbitmqctl, deprovision

    settings = Settings()
    ctl = Rabbitmqctl(settings.rabbitmqctl, settings.broker_vhost)
    for user in asyncio.run(deprovision(ctl, settings.amqp_prefix)):
        typer.echo(f"deleted {user}")
