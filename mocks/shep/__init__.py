"""Mock e-government bus (ШЭП): SOAP SyncChannel backed by the synthetic population.

Run it with ``python -m mocks.shep --port 8200 --seed 42``; in tests build it with
``create_app(population, config)``. Error codes: ``README.md`` beside this file.
"""

from mocks.shep.app import create_app
from mocks.shep.bus import BusReply, SyncBus
from mocks.shep.config import BusConfig, DevCredentials, SenderAccount, config_for, dev_credentials
from mocks.shep.journal import Journal, JournalEntry

__all__ = [
    "BusConfig",
    "BusReply",
    "DevCredentials",
    "Journal",
    "JournalEntry",
    "SenderAccount",
    "SyncBus",
    "config_for",
    "create_app",
    "dev_credentials",
]
