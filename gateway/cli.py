"""The `gateway` command: run, operate and try out the gateway."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway import calendar_cli
from gateway.config import Settings
from gateway.logs import configure as configure_logging

if TYPE_CHECKING:
    pass

app = typer.Typer(help="Interagency family support gateway.", no_args_is_help=True)
db_app = typer.Typer(help="The store.", no_args_is_help=True)
clients_app = typer.Typer(help="Calling systems and their credentials.", no_args_is_help=True)
calendar_app = typer.Typer(help="The working-day calendar.", no_args_is_help=True)
contracts_app = typer.Typer(help="Wire contracts.", no_args_is_help=True)
mocks_app = typer.Typer(help="Mock government systems.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(clients_app, name="clients")
app.add_typer(calendar_app, name="calendar")
calendar_cli.register(calendar_app)
app.add_typer(contracts_app, name="contracts")
app.add_typer(mocks_app, name="mocks")


@app.command()
def serve(
    api: bool = typer.Option(True, help="Serve the HTTP API."),
    relay: bool = typer.Option(True, help="Run the outbox relay."),
    collector: bool = typer.Option(True, help="Run the status collector."),
    watcher: bool = typer.Option(True, help="Run the deadline watcher."),
    dead_letters: bool = typer.Option(True, help="Record dead-lettered messages as incidents."),
    digest: bool = typer.Option(
        False, help="Send the daily escalation digest (run it in one process only)."
    ),
    host: str | None = None,
    port: int | None = None,
) -> None:
    """Run one gateway process with the chosen parts."""
    from gateway.runtime import serve as run

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    if host:
        settings.api_host = host
    if port:
        settings.api_port = port
    chosen = {
        name
        for name, on in (
            ("api", api),
            ("relay", relay),
            ("collector", collector),
            ("watcher", watcher),
            ("dead-letters", dead_letters),
            ("digest", digest),
        )
        if on
    }
    _fast_event_loop()
    asyncio.run(run(settings, chosen))


def _fast_event_loop() -> None:
    """uvloop when it is installed (it comes with uvicorn[standard]): the gateway process
    spends most of its time in the event loop's socket handling."""
    try:
        import uvloop
    except ImportError:
        return
    uvloop.install()


SeedOption = Annotated[int, typer.Option(help="Seed of the mocks' synthetic population.")]
FamiliesOption = Annotated[int, typer.Option(help="Ordinary families in the population.")]
ShepPort = Annotated[int, typer.Option(help="Port of the mock e-government bus (SOAP).")]
EgovPort = Annotated[int, typer.Option(help="Port of the mock e-government portal (REST).")]
KandasPort = Annotated[int, typer.Option(help="Port of the mock Kandas system (REST).")]
MigrationPortalPort = Annotated[int, typer.Option(help="Port of the mock migration portal (REST).")]
LabourMarketPort = Annotated[
    int, typer.Option(help="Port of the mock labour market system (REST).")
]
CaPort = Annotated[int, typer.Option(help="Port of the mock certification authority (REST).")]
KandasBodiesAdminPort = Annotated[
    int, typer.Option(help="Port of the kandas chain bodies' admin API (AMQP mocks).")
]
FamilyCardPort = Annotated[
    int, typer.Option(help="Port of the mock digital family card, ЦКС (REST).")
]
AgenciesAdminPort = Annotated[
    int, typer.Option(help="Port of the mock state bodies' admin API (0: none).")
]
WorkSeconds = Annotated[float, typer.Option(help="Mock bodies' simulated working time per step.")]
RejectRate = Annotated[float, typer.Option(help="Share of tasks the mock bodies reject.")]


@app.command()
def up(
    work_seconds: WorkSeconds = 2.0,
    reject_rate: RejectRate = 0.0,
    mocks: bool = typer.Option(True, help="Start the mock government systems too."),
    seed: SeedOption = 42,
    families: FamiliesOption = 12,
    shep_port: ShepPort = 8200,
    egov_port: EgovPort = 8210,
    kandas_port: KandasPort = 8220,
    agencies_admin_port: AgenciesAdminPort = 8230,
    migration_portal_port: MigrationPortalPort = 8250,
    labour_market_port: LabourMarketPort = 8260,
    ca_port: CaPort = 8270,
    family_card_port: FamilyCardPort = 8240,
    kandas_bodies_admin_port: KandasBodiesAdminPort = 8280,
    manual_bodies: str = typer.Option(
        "", help="Kandas chain bodies left to people on the web pages (comma-separated codes)."
    ),
    broker_identities: bool = typer.Option(
        True,
        help="Give every mock body its own RabbitMQ user (`gateway broker provision`) and "
        "have the gateway take the reporting body from the broker-checked user_id.",
    ),
) -> None:
    """Bring the whole system up on this machine: the gateway, its web pages and every mock."""
    from gateway.agencies import load_agencies
    from gateway.bootstrap import ensure_demo_staff, ensure_dev_credentials
    from gateway.processes import MockOptions, start_gateway, start_mocks, supervise
    from gateway.store.engine import open_engine
    from gateway.store.migrate import upgrade

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    api_url = f"http://{settings.api_host}:{settings.api_port}"

    async def prepare() -> None:
        engine = open_engine(settings.database_url)
        try:
            await upgrade(engine)
            await ensure_dev_credentials(
                engine, load_agencies(settings.agencies_file), settings.credentials_file, api_url
            )
            await ensure_demo_staff(engine, settings.credentials_file)
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    users_file = _provision_for_up(settings) if mocks and broker_identities else None
    options = MockOptions(
        seed, families, shep_port, egov_port, kandas_port, agencies_admin_port, True,
        work_seconds, reject_rate,
        migration_portal_port=migration_portal_port,
        labour_market_port=labour_market_port,
        ca_port=ca_port,
        manual_bodies=tuple(c.strip() for c in manual_bodies.split(",") if c.strip()),
        family_card_port=family_card_port,
        kandas_bodies_admin_port=kandas_bodies_admin_port,
        broker_users=users_file,
    )  # fmt: skip
    procs = start_mocks(options) if mocks else []
    procs.insert(0, start_gateway(options))
    typer.echo(f"gateway API: {api_url}  (docs {api_url}/docs)")
    typer.echo(
        f"centre workspace: {api_url}/web/  (demo-worker, demo-head; passwords in the credentials)"
    )
    if mocks:
        _echo_mocks(options)
    typer.echo(f"development credentials: {settings.credentials_file}")
    typer.echo("try: gateway demo        stop: Ctrl-C")
    raise typer.Exit(supervise(procs))


def _provision_for_up(settings: Settings) -> Path | None:
    """The bodies' broker users, or None (said on the console) where rabbitmqctl cannot
    make them: the system then runs, but without identities the broker checks."""
    from gateway.broker.provision import ProvisionError
    from gateway.broker.provision_cli import provision_connected

    try:
        made = provision_connected(settings)
    except ProvisionError as error:
        typer.echo(
            f"broker identities: NOT provisioned ({error}). The mock bodies publish as the "
            "gateway's own broker user and the gateway does not check who reports. Run "
            "`gateway up` as a user who may run rabbitmqctl (root, or one with the Erlang "
            "cookie), or pass --no-broker-identities.",
            err=True,
        )
        return None
    typer.echo(
        f"broker identities: {len(made)} bodies with their own RabbitMQ users "
        f"(credentials in {settings.broker_users_file})"
    )
    return settings.broker_users_file


@mocks_app.command("up")
def mocks_up(
    seed: SeedOption = 42,
    families: FamiliesOption = 12,
    shep_port: ShepPort = 8200,
    egov_port: EgovPort = 8210,
    kandas_port: KandasPort = 8220,
    agencies_admin_port: AgenciesAdminPort = 8230,
    agencies: bool = typer.Option(True, help="Start the four state bodies' systems (AMQP)."),
    work_seconds: WorkSeconds = 2.0,
    reject_rate: RejectRate = 0.0,
    migration_portal_port: MigrationPortalPort = 8250,
    labour_market_port: LabourMarketPort = 8260,
    ca_port: CaPort = 8270,
    family_card_port: FamilyCardPort = 8240,
    kandas_bodies_admin_port: KandasBodiesAdminPort = 8280,
) -> None:
    """Start every mock government system, each with its /__admin API (see mocks/*/README.md).

    The e-government bus (ШЭП) with the individuals database, civil registry,
    e-guardianship, Supreme Court and migration police; the e-government portal; the
    Kandas system; the digital family card (ЦКС); the migration portal; the labour market
    system; the certification authority; and the state bodies' systems on RabbitMQ. All
    share one synthetic population made from --seed with --families ordinary families.
    """
    from gateway.processes import MockOptions, start_mocks, supervise

    options = MockOptions(
        seed, families, shep_port, egov_port, kandas_port, agencies_admin_port, agencies,
        work_seconds, reject_rate,
        migration_portal_port=migration_portal_port,
        labour_market_port=labour_market_port,
        ca_port=ca_port,
        family_card_port=family_card_port,
        kandas_bodies_admin_port=kandas_bodies_admin_port,
    )  # fmt: skip
    procs = start_mocks(options)
    _echo_mocks(options)
    typer.echo("stop: Ctrl-C")
    raise typer.Exit(supervise(procs))


def _echo_mocks(options: object) -> None:
    from gateway.processes import MockOptions

    assert isinstance(options, MockOptions)
    typer.echo(f"mock e-government bus: {options.shep_url}  (admin: /__admin)")
    typer.echo(
        f"mock e-government portal: http://127.0.0.1:{options.egov_port}/  (admin: /__admin)"
    )
    typer.echo(f"mock Kandas system: http://127.0.0.1:{options.kandas_port}/  (admin: /__admin)")
    typer.echo(f"mock migration portal: {options.migration_portal_url}  (admin: /__admin)")
    typer.echo(f"mock labour market system: {options.labour_market_url}  (admin: /__admin)")
    typer.echo(
        f"mock certification authority: http://127.0.0.1:{options.ca_port}/  "
        "(officials' keys in .gateway/mocks/ca/officials/)"
    )
    typer.echo(f"mock digital family card (ЦКС): {options.family_card_url}/  (admin: /__admin)")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the store's migrations."""
    from gateway.store.engine import open_engine
    from gateway.store.migrate import upgrade

    async def run() -> None:
        engine = open_engine(Settings().database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    typer.echo("store is at the current schema")


@db_app.command("backup")
def db_backup(
    target: Annotated[Path, typer.Argument(help="The new file to write the copy to.")],
) -> None:
    """Copy the SQLite store while the gateway runs (SQLite's online backup API)."""
    from gateway.store.backup import BackupError, backup

    try:
        summary = backup(Settings().database_url, target)
    except BackupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    rows = sum(summary.tables.values())
    typer.echo(f"backed up to {target}: schema {summary.schema_version}, {rows} rows")


@db_app.command("restore")
def db_restore(
    backup_file: Annotated[Path, typer.Argument(help="A file made by `gateway db backup`.")],
) -> None:
    """Replace the SQLite store with a backup (stop the gateway first); the current store is
    kept beside it."""
    from gateway.store.backup import BackupError, restore

    try:
        summary, kept = restore(Settings().database_url, backup_file)
    except BackupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    rows = sum(summary.tables.values())
    typer.echo(f"restored {backup_file}: schema {summary.schema_version}, {rows} rows")
    if kept is not None:
        typer.echo(f"the previous store is kept at {kept}")


@clients_app.command("add")
def clients_add(
    name: Annotated[str, typer.Option(help="Who the calling system is.")],
    kind: Annotated[str, typer.Option(help="admin, centre or agency.")],
    scope: Annotated[
        str | None,
        typer.Option(
            help="The centre's or agency's code; a centre must be in the register "
            "(`gateway centres add`), an agency connected."
        ),
    ] = None,
) -> None:
    """Register a calling system; prints its API key once."""
    from contracts.clock import SystemClock
    from gateway.agencies import load_agencies
    from gateway.auth import ClientKind
    from gateway.errors import GatewayError
    from gateway.services.clients import add_client
    from gateway.store.engine import open_engine
    from gateway.store.migrate import upgrade

    settings = Settings()
    try:
        client_kind = ClientKind(kind)
    except ValueError:
        raise typer.BadParameter(
            "kind must be admin, centre or agency", param_hint="--kind"
        ) from None

    async def run() -> str:
        engine = open_engine(settings.database_url)
        try:
            await upgrade(engine)
            async with engine.begin() as conn:
                new = await add_client(
                    conn,
                    name=name,
                    kind=client_kind,
                    scope=scope,
                    agencies=load_agencies(settings.agencies_file),
                    now=SystemClock().now(),
                )
            return new.api_key
        finally:
            await engine.dispose()

    try:
        key = asyncio.run(run())
    except GatewayError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(key)


@clients_app.command("list")
def clients_list() -> None:
    """List calling systems (never their keys)."""
    from gateway.services.clients import list_clients
    from gateway.store.engine import open_engine

    async def run() -> list[dict[str, object]]:
        engine = open_engine(Settings().database_url)
        try:
            async with engine.connect() as conn:
                return await list_clients(conn)
        finally:
            await engine.dispose()

    for row in asyncio.run(run()):
        state = "revoked" if row["revoked_at"] else f"last used {row['last_used_at'] or 'never'}"
        typer.echo(
            f"{row['id']}  {row['kind']:<7} {row['scope'] or '-':<20} {row['name']}  ({state})"
        )


@clients_app.command("revoke")
def clients_revoke(client_id: Annotated[str, typer.Argument(help="The client's id.")]) -> None:
    """Refuse the client's key from now on (every API process within a second)."""
    from gateway.key_lifecycle_cli import revoke_client

    revoke_client(Settings(), client_id)


@clients_app.command("rotate")
def clients_rotate(
    client_id: Annotated[str, typer.Argument(help="The client's id.")],
    overlap_seconds: Annotated[
        float | None,
        typer.Option(help="How long the old key keeps working (GATEWAY_KEY_OVERLAP_SECONDS)."),
    ] = None,
) -> None:
    """Issue a new key (printed once); the old one works until the overlap ends."""
    from gateway.key_lifecycle_cli import rotate_client

    rotate_client(Settings(), client_id, overlap_seconds)


@calendar_app.command("deadline")
def calendar_deadline(
    start: Annotated[str, typer.Argument(help="ISO 8601 datetime; no offset means Asia/Almaty.")],
    working_days: Annotated[int, typer.Argument(help="Term in working days (1 or more).")],
) -> None:
    """Print the end of a term of N working days that starts after START."""
    from gateway.workdays import default_calendar

    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(
            f"'{start}' is not an ISO 8601 datetime", param_hint="START"
        ) from None
    if working_days < 1:
        raise typer.BadParameter("must be 1 or more", param_hint="N")
    typer.echo(default_calendar().deadline(moment, working_days).isoformat())


@contracts_app.command("export")
def contracts_export(
    check: bool = typer.Option(False, help="Only report drift; exit 1 if a file differs."),
) -> None:
    """Write the JSON Schemas in contracts/schemas and contracts/asyncapi.json from the models."""
    from contracts.export import render_files

    drift = []
    for path, text in render_files().items():
        if not path.exists() or path.read_text() != text:
            drift.append(path.name)
            if not check:
                path.write_text(text)
    if check and drift:
        typer.echo("out of date: " + ", ".join(drift), err=True)
        raise typer.Exit(1)
    typer.echo("schemas are current" if not drift else f"wrote {len(drift)} schema file(s)")


RUN_HINT = "start the system first with the README's run command (`gateway up`)"
DEMO_FLOWS = (
    "ipr",
    "kandas-application",
    "kandas-adaptation",
    "e-application",
    "employment-referral",
    "proactive-assistance",
)


@app.command()
def demo(
    flow: str = typer.Argument(
        "ipr",
        help="Which flow: ipr (order 192), kandas-application or kandas-adaptation "
        "(order 170), e-application (order 109), employment-referral (seed 002) or "
        "proactive-assistance (order 109 p.12-18).",
    ),
    api_url: str | None = typer.Option(None, help="Default: from the development credentials."),
    api_key: str | None = typer.Option(
        None,
        help="A centre's API key (ipr) or the career centre's (kandas-application). "
        "Default: from the development credentials.",
    ),
    timeout: float = typer.Option(120.0, help="Give up after this many seconds."),
    egov_url: str | None = typer.Option(
        None, help="The e-government portal (e-government demos). Default: GATEWAY_EGOV_URL."
    ),
    kandas_url: str | None = typer.Option(
        None, help="The Kandas system (employment-referral). Default: GATEWAY_KANDAS_URL."
    ),
    ca_url: str = typer.Option(
        "http://127.0.0.1:8270",
        help="The mock certification authority that issues the demo citizens' ЭЦП keys.",
    ),
) -> None:
    """Run a flow against the running system, live: `gateway demo` submits a sample plan
    and accepts the reports; `gateway demo kandas-application` takes a kandas family's
    application through the chain until the adaptation plan is drafted; `gateway demo
    kandas-adaptation` goes on through the plan's upload, three work reports, the month's
    appendix 3 report, a monitoring run and a quality evaluation."""
    from gateway.bootstrap import DEMO_CENTRE, read_credentials

    if flow not in DEMO_FLOWS:
        raise typer.BadParameter(f"one of {', '.join(DEMO_FLOWS)}", param_hint="FLOW")
    settings = Settings()
    creds: dict[str, Any] = {}
    if api_key is None or api_url is None or flow not in ("ipr", "kandas-application"):
        try:
            creds = read_credentials(settings.credentials_file)
        except FileNotFoundError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
    api_url = api_url or creds["api_url"]
    if flow == "ipr":
        from gateway.demo import run_demo

        api_key = api_key or creds["centres"][DEMO_CENTRE]
        raise typer.Exit(asyncio.run(run_demo(api_url, api_key, DEMO_CENTRE, timeout)))

    from gateway.demo_kandas import CAREER_CENTRE, load_sample, run_kandas_demo

    sample_file = settings.shep_dev_dir / "sample-people.json"
    try:
        sample = load_sample(sample_file)
    except FileNotFoundError:
        typer.echo(f"error: {sample_file} not found: the mock bus writes it; {RUN_HINT}", err=True)
        raise typer.Exit(2) from None
    if flow == "kandas-adaptation":
        from gateway.demo_adaptation import EVALUATOR, SETTLEMENT_CENTRE, run_adaptation_demo

        agencies = creds.get("agencies", {})
        keys = {c: agencies.get(c, "") for c in (CAREER_CENTRE, SETTLEMENT_CENTRE, EVALUATOR)}
        if api_key:
            keys[CAREER_CENTRE] = api_key
        raise typer.Exit(asyncio.run(run_adaptation_demo(api_url, keys, sample, timeout)))
    if flow in ("e-application", "employment-referral", "proactive-assistance"):
        from gateway.demo_egov import run_egov_demo

        portal = egov_url or settings.egov_url or "http://127.0.0.1:8210/"
        keys = dict(creds.get("agencies", {}))  # each office acts with its own key
        raise typer.Exit(
            asyncio.run(
                run_egov_demo(
                    flow,
                    api_url,
                    keys,
                    portal,
                    sample["e_government"],
                    timeout,
                    kandas_url=kandas_url or settings.kandas_url,
                    ca_url=ca_url,
                )
            )
        )
    api_key = api_key or creds["agencies"][CAREER_CENTRE]
    raise typer.Exit(asyncio.run(run_kandas_demo(api_url, api_key, sample, timeout)))


@mocks_app.command(
    "agencies",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def mocks_agencies(ctx: typer.Context) -> None:
    """The mock state bodies' systems over AMQP: `python -m mocks.agencies` (see its --help).

    Run as a separate program, never imported: a mock is another organisation's system
    and shares only `contracts/` with the gateway. The process becomes the mock (exec), so
    a signal sent to it (Ctrl-C, a supervisor's SIGTERM or SIGKILL) reaches the mock
    itself and never leaves an orphan consuming the bodies' queues.
    """
    import os
    import sys

    os.execv(sys.executable, [sys.executable, "-m", "mocks.agencies", *ctx.args])


def _mount_reports() -> None:
    from gateway.reports.cli import digest_app, report_app

    app.add_typer(report_app, name="report")
    app.add_typer(digest_app, name="digest")


_mount_reports()


def _mount_staff() -> None:
    from gateway.web.cli import staff_app

    app.add_typer(staff_app, name="staff")


_mount_staff()


def _mount_incidents() -> None:
    from gateway.incidents_cli import incidents_app

    app.add_typer(incidents_app, name="incidents")


_mount_incidents()


def _mount_centres() -> None:
    from gateway.centres_cli import centres_app

    app.add_typer(centres_app, name="centres")


_mount_centres()


def _mount_trust() -> None:
    from gateway.audit_cli import audit_app
    from gateway.broker.provision_cli import broker_app

    app.add_typer(audit_app, name="audit")
    app.add_typer(broker_app, name="broker")


_mount_trust()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
