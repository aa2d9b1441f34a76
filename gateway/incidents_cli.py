"""`gateway incidents`: the dead-lettered deliveries from a terminal, as an operator.

It works on the store directly, as `gateway clients` does, with the rules of the head's page
and of the admin API (gateway.services.incidents). The operator is named on the timeline as
`admin:cli:<login>`. A replay goes out through the outbox; the running gateway's relay sends it.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.auth import Caller, ClientKind
from gateway.cli_store import run_in_store
from gateway.config import Settings

incidents_app = typer.Typer(
    help="Dead-lettered deliveries: list, show, replay, resolve.", no_args_is_help=True
)

T = TypeVar("T")


def _operator() -> Caller:
    return Caller(client_id=f"cli:{getpass.getuser()}", kind=ClientKind.admin, scope=None)


def _run(work: Callable[[AsyncConnection, Any], Awaitable[T]]) -> T:
    """Run one use case in one transaction; `work` gets the context and the time too."""
    from contracts.clock import SystemClock
    from gateway.runtime import build_context

    ctx = build_context(Settings())
    return run_in_store(lambda conn: work(conn, (ctx, SystemClock().now())))


def _line(view: Any) -> str:
    flag = "replayable" if view.replayable else ("resolved" if view.resolved_at else "open")
    return (
        f"{view.id:>6}  {view.at:%Y-%m-%d %H:%M}  {flag:<10} {view.message_type or '-':<16} "
        f"{view.agency or '-':<12} {view.centre or '-':<16} {view.task_id or '-'}"
    )


@incidents_app.command("list")
def list_command(
    all_: Annotated[bool, typer.Option("--all", help="Also the resolved ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """The incidents, newest first."""
    from gateway.services.incidents import list_incidents

    found = _run(lambda conn, _: list_incidents(conn, _operator(), include_resolved=all_))
    for view in found:
        if as_json:
            typer.echo(json.dumps(_as_dict(view), ensure_ascii=False, default=str))
        else:
            typer.echo(_line(view))
    if not found and not as_json:
        typer.echo("no incidents" if all_ else "no open incidents")


def _as_dict(view: Any) -> dict[str, Any]:
    return {name: getattr(view, name) for name in view.__dataclass_fields__}


@incidents_app.command("show")
def show_command(incident_id: int) -> None:
    """One incident, with the message as the broker dead-lettered it."""
    from gateway.services.incidents import show_incident

    detail = _run(lambda conn, _: show_incident(conn, incident_id, _operator()))
    record = _as_dict(detail.incident)
    record.update(message_id=detail.message_id, routing_key=detail.routing_key, body=detail.body)
    typer.echo(json.dumps(record, ensure_ascii=False, default=str, indent=2))


@incidents_app.command("replay")
def replay_command(incident_id: int) -> None:
    """Send the task's message again (new message id); the incident is resolved with it."""
    from gateway.services.incidents import replay_incident

    result = _run(
        lambda conn, env: replay_incident(conn, env[0], incident_id, _operator(), env[1])
    )
    typer.echo(
        f"incident {result.incident_id}: queued again as message {result.message_id} "
        f"(task {result.task_id} is {result.task_state.value})"
    )


@incidents_app.command("resolve")
def resolve_command(
    incident_id: int,
    reason: Annotated[str, typer.Option(help="Why it is closed without a replay.")],
) -> None:
    """Close an incident without sending anything."""
    from gateway.services.incidents import resolve_incident

    view = _run(lambda conn, env: resolve_incident(conn, incident_id, _operator(), reason, env[1]))
    typer.echo(f"incident {view.id}: resolved by {view.resolved_by}: {view.resolution}")
