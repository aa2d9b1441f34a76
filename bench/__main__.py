"""`python -m bench`: the load benchmark against a running system (see bench/README.md)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

import httpx
import typer

from bench.load import BenchConfig, BenchError, format_report, run_bench
from contracts.plans import MAX_ACTIVITIES
from gateway.bootstrap import DEMO_CENTRE, read_credentials
from gateway.config import Settings

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def _progress(message: str) -> None:
    # Progress goes to stderr so that stdout carries only the figures (and the JSON line).
    typer.echo(f"· {message}", err=True)


HELP = (
    "Submit plans from concurrent clients, wait for the bodies' done reports and print the "
    "figures: submit latency, submit-to-delivered and submit-to-done percentiles, tasks per "
    "second. Start the system first: gateway up --work-seconds 0."
)


@app.command(help=HELP)
def main(
    api_url: str | None = typer.Option(
        None, help="Gateway base URL. Default: from the development credentials file."
    ),
    api_key: str | None = typer.Option(
        None, help="A centre's API key. Default: the demo centre's, from the credentials file."
    ),
    centre: str = typer.Option(DEMO_CENTRE, help="Centre code the plans are submitted for."),
    plans: int = typer.Option(200, min=1, help="Plans to submit."),
    activities: int = typer.Option(
        4, min=1, max=MAX_ACTIVITIES, help="Activities per plan, dealt round the enabled bodies."
    ),
    concurrency: int = typer.Option(16, min=1, help="Concurrent submitting clients."),
    timeout: float = typer.Option(
        300.0, min=1.0, help="Seconds from the first submit to stop waiting for done reports."
    ),
    poll_interval: float = typer.Option(
        0.5, min=0.05, help="Seconds between polls while waiting; the figures do not depend on it."
    ),
    json_line: bool = typer.Option(False, "--json", help="Also print the figures as a JSON line."),
    baseline: bool = typer.Option(
        False,
        "--baseline",
        help="First run a bare aio-pika pipeline with the same message pattern through the "
        "same broker, and print the gateway's throughput as a ratio of it.",
    ),
    rate: float | None = typer.Option(
        None,
        min=0.1,
        help="Submit at this fixed rate in TASKS a second (plans at rate / activities), "
        "open loop, to measure latency at a given load.",
    ),
    burst: int | None = typer.Option(
        None,
        min=1,
        help="Submit this many TASKS (whole plans) as fast as the API takes them and report "
        "the time until all are delivered and all are done. Overrides --plans and --rate.",
    ),
) -> None:
    """Print what was measured and never fail on a slow figure.

    Judging the numbers is the reader's job, against the table in bench/README.md; a
    bench that asserts thresholds breaks on a slower laptop and teaches people to skip it.
    """
    if api_url is None or api_key is None:
        path = Settings().credentials_file
        try:
            creds = read_credentials(path)
        except FileNotFoundError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        api_url = api_url or str(creds["api_url"])
        api_key = api_key or str(creds["centres"][DEMO_CENTRE])
    settings = Settings()
    config = BenchConfig(
        api_url=api_url,
        api_key=api_key,
        centre=centre,
        plans=plans,
        activities=activities,
        concurrency=concurrency,
        timeout=timeout,
        poll_seconds=poll_interval,
        rate=rate,
        burst=burst,
        baseline=baseline,
        amqp_url=settings.amqp_url.split(",")[0],
        amqp_prefix=settings.amqp_prefix,
    )
    try:
        report = asyncio.run(run_bench(config, _progress))
    except BenchError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    except httpx.HTTPError as error:
        typer.echo(f"error: the gateway failed while the bench was polling: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(format_report(report))
    if json_line:
        typer.echo(json.dumps(asdict(report), ensure_ascii=False))


if __name__ == "__main__":
    app()
