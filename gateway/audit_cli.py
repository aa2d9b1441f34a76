"""`gateway audit …`: verify the interagency log, prove one record, export checkpoints."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.config import Settings

audit_app = typer.Typer(help="The tamper-evident interagency log.", no_args_is_help=True)


def _public(settings: Settings, public_key: Path | None) -> Any:
    from gateway.audit_keys import load_public, signing_key

    if public_key is not None:
        return load_public(public_key.read_bytes())
    return signing_key(settings.audit_signing_key_file).public_key()


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[
        Path | None,
        typer.Option(help="A checkpoints file a body kept (`gateway audit export`)."),
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="The gateway's public key PEM; default: its own key.")
    ] = None,
) -> None:
    """Recompute the chain and check every checkpoint; exit 0 with the count when intact."""
    from gateway.audit_verify import verify
    from gateway.store.engine import open_engine

    settings = Settings()
    public = _public(settings, public_key)
    witnessed = json.loads(checkpoints.read_text())["checkpoints"] if checkpoints else []

    async def run() -> Any:
        engine = open_engine(settings.database_url)
        try:
            return await verify(engine, public, witnessed)
        finally:
            await engine.dispose()

    verdict = asyncio.run(run())
    if verdict.intact:
        typer.echo(
            f"audit log intact: {verdict.count} records chained, {verdict.checkpoints} "
            f"checkpoints verified, {verdict.unsealed} not yet sealed"
        )
        return
    for problem in verdict.problems:
        typer.echo(problem, err=True)
    raise typer.Exit(1)


@audit_app.command("proof")
def audit_proof(
    record: Annotated[int, typer.Argument(help="The record's id.")],
    public_key: Annotated[Path | None, typer.Option(help="The gateway's public key PEM.")] = None,
) -> None:
    """Print what a body needs to check one record against a signed checkpoint (JSON)."""
    from gateway.audit_verify import proof_for
    from gateway.store.engine import open_engine

    settings = Settings()
    public = _public(settings, public_key)

    async def run() -> dict[str, Any]:
        engine = open_engine(settings.database_url)
        try:
            return await proof_for(engine, record, public)
        finally:
            await engine.dispose()

    try:
        out = asyncio.run(run())
    except LookupError as error:
        typer.echo(f"error: {error.args[0]}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Option(help="Where to write the checkpoints file.")],
) -> None:
    """Write the signed checkpoints and the gateway's public key for the bodies."""
    from gateway.audit_verify import export
    from gateway.store.engine import open_engine

    settings = Settings()
    public = _public(settings, None)

    async def run() -> str:
        engine = open_engine(settings.database_url)
        try:
            return await export(engine, public)
        finally:
            await engine.dispose()

    output.write_text(asyncio.run(run()), encoding="utf-8")
    typer.echo(f"checkpoints written to {output}")


@audit_app.command("seal")
def audit_seal(
    checkpoint: Annotated[bool, typer.Option(help="Also sign a checkpoint.")] = True,
) -> None:
    """Chain the unsealed records now (the watcher does it every second) and sign a checkpoint."""
    from contracts.clock import SystemClock
    from gateway.audit_keys import signing_key
    from gateway.audit_sealer import checkpoint as make_checkpoint
    from gateway.audit_sealer import seal
    from gateway.store.engine import open_engine

    settings = Settings()
    key = signing_key(settings.audit_signing_key_file)

    async def run() -> tuple[int, Any]:
        engine = open_engine(settings.database_url)
        try:
            total = 0
            while (n := await seal(engine)) > 0:
                total += n
            made = await make_checkpoint(engine, key, SystemClock().now()) if checkpoint else None
            return total, made
        finally:
            await engine.dispose()

    total, made = asyncio.run(run())
    typer.echo(f"sealed {total} records" + (f"; checkpoint of {made.count}" if made else ""))
