"""`gateway centres add|list|close`: the register of family support centres, as an operator.

It works on the store directly, as `gateway clients` does, with the rules of the admin
API (gateway/services/centres.py); each change is an interagency audit record by
`operator:cli`. A centre must be here before `gateway clients add --kind centre`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.cli_store import run_in_store

OPERATOR = "operator:cli"
T = TypeVar("T")

centres_app = typer.Typer(
    help="The register of family support centres (ЦПС): add, list, close.", no_args_is_help=True
)


def _run(work: Callable[[AsyncConnection], Awaitable[T]], *, write: bool = True) -> T:
    """A fresh store needs no separate upgrade: the schema is brought up to date first."""
    return run_in_store(work, write=write, upgrade_first=True)


@centres_app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="The centre's code, e.g. almaty-bostandyk.")],
    name_ru: Annotated[str, typer.Option("--name-ru", help="The centre's name in Russian.")],
    name_kk: Annotated[str, typer.Option("--name-kk", help="The centre's name in Kazakh.")],
) -> None:
    """Add a centre to the register (a closed one is reopened); then its keys can be issued."""
    from contracts.clock import SystemClock
    from gateway.services.centres import add_centre

    async def work(conn: AsyncConnection) -> str:
        added = await add_centre(
            conn,
            code=code,
            name_ru=name_ru,
            name_kk=name_kk,
            actor=OPERATOR,
            now=SystemClock().now(),
        )
        return added.code

    added = _run(work)
    typer.echo(f"центр {added} внесён в реестр / орталық {added} тізілімге енгізілді")


@centres_app.command("list")
def list_() -> None:
    """The register: code, state, names."""
    from gateway.services.centres import Centre, list_centres

    async def work(conn: AsyncConnection) -> list[Centre]:
        return await list_centres(conn)

    for centre in _run(work, write=False):
        state = "open" if centre.open else f"closed {centre.closed_at:%Y-%m-%d}"
        typer.echo(f"{centre.code:<24} {state:<17} {centre.name_ru} / {centre.name_kk}")


@centres_app.command("close")
def close(
    code: Annotated[str, typer.Argument(help="The centre's code.")],
) -> None:
    """Close a centre: its new plans are refused; its accepted plans stay and go on."""
    from contracts.clock import SystemClock
    from gateway.services.centres import close_centre

    async def work(conn: AsyncConnection) -> None:
        await close_centre(conn, code, actor=OPERATOR, now=SystemClock().now())

    _run(work)
    typer.echo(f"центр {code} закрыт в реестре / орталық {code} тізілімде жабылды")
