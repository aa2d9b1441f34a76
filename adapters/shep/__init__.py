"""The e-government bus (ШЭП): SOAP SyncChannel client and the registry services on it.

Start with ``SyncChannelClient`` (one per process and bus address) and put a typed
registry client on top, e.g. ``IndividualsClient(channel).person_by_iin(iin)``.
"""

from adapters.shep.breaker import BreakerBoard, BreakerState, CircuitBreaker
from adapters.shep.client import ShepSettings, SyncAnswer, SyncChannelClient
from adapters.shep.errors import (
    ShepAuthError,
    ShepCircuitOpen,
    ShepError,
    ShepNotFound,
    ShepSignatureError,
    ShepUnavailable,
)
from adapters.shep.individuals import Address, IdentityDocument, IndividualsClient, Person
from adapters.shep.wsse import RsaSigner, Signer, TrustStore, generate_rsa_credentials

__all__ = [
    "Address",
    "BreakerBoard",
    "BreakerState",
    "CircuitBreaker",
    "IdentityDocument",
    "IndividualsClient",
    "Person",
    "RsaSigner",
    "ShepAuthError",
    "ShepCircuitOpen",
    "ShepError",
    "ShepNotFound",
    "ShepSettings",
    "ShepSignatureError",
    "ShepUnavailable",
    "Signer",
    "SyncAnswer",
    "SyncChannelClient",
    "TrustStore",
    "generate_rsa_credentials",
]
