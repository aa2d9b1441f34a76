"""The migration police system: residence registrations, for p.45 monitoring of kandas.

``PoliceResidenceChecker(source)`` over any object with an async
``registrations_of(iin)`` (the bus client in ``adapters/shep/migration_police.py``).
"""

from adapters.police_migration.residence import (
    PoliceResidenceChecker,
    Registration,
    RegistrationKind,
    RegistrationRecord,
    RegistrationSource,
    ResidenceChecker,
    same_region,
)

__all__ = [
    "PoliceResidenceChecker",
    "Registration",
    "RegistrationKind",
    "RegistrationRecord",
    "RegistrationSource",
    "ResidenceChecker",
    "same_region",
]
