"""Lets `python -m mocks.agencies run ...` work without the gateway CLI installed."""

from mocks.agencies.cli import app

app(prog_name="python -m mocks.agencies")
