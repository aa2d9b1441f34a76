"""The mock labour market system (АИС «Рынок труда»); see README.md."""

from mocks.labour_market.app import LabourMarketState, create_app
from mocks.labour_market.registrations import WORKING_AGE, Registration, seed_registrations

__all__ = ["WORKING_AGE", "LabourMarketState", "Registration", "create_app", "seed_registrations"]
