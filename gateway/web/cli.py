"""`gateway staff …`: the people who sign in to the centre's web workspace."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from gateway.config import Settings

staff_app = typer.Typer(
    help="Staff of family support centres (web workspace).", no_args_is_help=True
)


@staff_app.command("add")
def staff_add(
    login: Annotated[str, typer.Option(help="Sign-in name: lower-case Latin, digits, . _ -")],
    name: Annotated[str, typer.Option(help="Full name, as the plan's timeline shows it.")],
    centre: Annotated[str, typer.Option(help="The centre's code, e.g. almaty-bostandyk.")],
    role: Annotated[str, typer.Option(help="worker or head (a head also replays incidents).")],
    password: Annotated[
        str | None,
        typer.Option(help="Omit to be asked (not echoed); a flag lands in shell history."),
    ] = None,
) -> None:
    """Add a staff member who signs in at /web/login."""
    from contracts.clock import SystemClock
    from gateway.errors import GatewayError
    from gateway.services.staff import StaffRole, add_staff
    from gateway.store.engine import open_engine
    from gateway.store.migrate import upgrade

    try:
        staff_role = StaffRole(role)
    except ValueError:
        raise typer.BadParameter("role must be worker or head", param_hint="--role") from None
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = Settings()

    async def run() -> str:
        engine = open_engine(settings.database_url)
        try:
            await upgrade(engine)
            async with engine.begin() as conn:
                user = await add_staff(
                    conn,
                    login=login,
                    full_name=name,
                    centre=centre,
                    role=staff_role,
                    password=password or "",
                    now=SystemClock().now(),
                )
            return user.id
        finally:
            await engine.dispose()

    try:
        staff_id = asyncio.run(run())
    except GatewayError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"added {login.strip().lower()} ({staff_role.value} of {centre}), id {staff_id}")
