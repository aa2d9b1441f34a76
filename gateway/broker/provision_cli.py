"""`gateway broker provision|deprovision`: the bodies' own broker identities."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from gateway.broker.provision import (
    BodyCredentials,
    ProvisionError,
    Rabbitmqctl,
    deprovision,
    provision,
)
from gateway.config import Settings

broker_app = typer.Typer(help="The bodies' identities on RabbitMQ.", no_args_is_help=True)


def provision_connected(
    settings: Settings, bodies: list[str] | None = None
) -> list[BodyCredentials]:
    """Every connected body's user (or those of `bodies`), written to the credentials
    file; raises ProvisionError when rabbitmqctl cannot do it."""
    from gateway.agencies import load_agencies

    codes = bodies or list(load_agencies(settings.agencies_file).enabled_codes())
    ctl = Rabbitmqctl(settings.rabbitmqctl, settings.broker_vhost)
    return asyncio.run(provision(ctl, settings.amqp_prefix, codes, settings.broker_users_file))


@broker_app.command("provision")
def broker_provision(
    bodies: Annotated[
        str | None, typer.Option(help="Comma-separated body codes; default every connected body.")
    ] = None,
) -> None:
    """Create (or bring up to date) one RabbitMQ user per connected body; idempotent."""
    settings = Settings()
    codes = [c.strip() for c in bodies.split(",") if c.strip()] if bodies else None
    try:
        made = provision_connected(settings, codes)
    except ProvisionError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    for entry in made:
        typer.echo(f"{entry.body:<24} {entry.user}")
    typer.echo(f"credentials in {settings.broker_users_file}")


@broker_app.command("deprovision")
def broker_deprovision() -> None:
    """Delete this prefix's body users (never guest, never another prefix's)."""
    settings = Settings()
    ctl = Rabbitmqctl(settings.rabbitmqctl, settings.broker_vhost)
    for user in asyncio.run(deprovision(ctl, settings.amqp_prefix)):
        typer.echo(f"deleted {user}")
