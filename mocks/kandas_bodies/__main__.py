"""Lets `python -m mocks.kandas_bodies run ...` work without the gateway CLI installed."""

from mocks.kandas_bodies.cli import app

app(prog_name="python -m mocks.kandas_bodies")
