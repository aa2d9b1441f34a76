"""The e-government bus (ШЭП): SOAP SyncChannel client and the registry services on it.

Start with ``SyncChannelClient`` (one per process and bus address) and put a typed
registry client on top, e.g. ``IndividualsClient(channel).person_by_iin(iin)``.
"""

from adapters.shep._registry import RecordedPerson
from adapters.shep.asp_facts import AspFactsClient, QueryGround
from adapters.shep.breaker import BreakerBoard, BreakerState, CircuitBreaker
from adapters.shep.civil_registry import (
    BirthRecord,
    CivilRegistryClient,
    DeathRecord,
    MarriageRecord,
)
from adapters.shep.client import SyncAnswer, SyncChannelClient
from adapters.shep.dsig import RsaSigner, Signer, TrustStore, generate_rsa_credentials
from adapters.shep.errors import (
    ShepAuthError,
    ShepCircuitOpen,
    ShepError,
    ShepNotFound,
    ShepSignatureError,
    ShepUnavailable,
    ShepUnexpectedReply,
)
from adapters.shep.guardianship import GuardianshipClient, GuardianshipDecision
from adapters.shep.individuals import Address, IdentityDocument, IndividualsClient, Person
from adapters.shep.migration_police import MigrationPoliceClient, ResidenceRegistration
from adapters.shep.settings import ShepSettings
from adapters.shep.supreme_court import AdoptionDecision, SupremeCourtClient

__all__ = [
    "Address",
    "AdoptionDecision",
    "AspFactsClient",
    "BirthRecord",
    "BreakerBoard",
    "BreakerState",
    "CircuitBreaker",
    "CivilRegistryClient",
    "DeathRecord",
    "GuardianshipClient",
    "GuardianshipDecision",
    "IdentityDocument",
    "IndividualsClient",
    "MarriageRecord",
    "MigrationPoliceClient",
    "Person",
    "QueryGround",
    "RecordedPerson",
    "ResidenceRegistration",
    "RsaSigner",
    "ShepAuthError",
    "ShepCircuitOpen",
    "ShepError",
    "ShepNotFound",
    "ShepSettings",
    "ShepSignatureError",
    "ShepUnavailable",
    "ShepUnexpectedReply",
    "Signer",
    "SupremeCourtClient",
    "SyncAnswer",
    "SyncChannelClient",
    "TrustStore",
    "generate_rsa_credentials",
]
