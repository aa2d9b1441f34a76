"""Status and error codes of our bus contract.

``SCSS001`` is the bus's success code. The error codes are ours (the real bus's list is
not public): the mock bus sends them in ``ErrorInfo/errorCode`` and the adapter maps
them to exceptions, so both import them from here. Each is explained in
``mocks/shep/README.md``.
"""

from __future__ import annotations

from typing import Final

SUCCESS: Final = "SCSS001"

INVALID_REQUEST: Final = "EREQ001"
"""The message does not validate against the contract, or is not SOAP at all."""

SENDER_UNKNOWN: Final = "EAUT001"
"""senderId is not registered or the password does not match."""

SIGNATURE_INVALID: Final = "EAUT002"
"""The WS-Security signature is missing, malformed, by an untrusted certificate, or wrong."""

SERVICE_UNKNOWN: Final = "ESRV001"
"""No registry answers to this serviceId."""

SERVICE_UNAVAILABLE: Final = "ESRV002"
"""The registry behind the bus did not answer; worth retrying."""

INTERNAL_ERROR: Final = "ESRV003"
"""The bus itself failed while handling the message (a Server fault, not the caller's)."""

NOT_FOUND: Final = "EDAT001"
"""The registry has no record for the key asked (e.g. a valid IIN nobody holds)."""

INVALID_DATA: Final = "EDAT002"
"""The payload is well-formed but the registry refuses it (e.g. a wrong control digit)."""

AUTH_CODES: Final = frozenset({SENDER_UNKNOWN, SIGNATURE_INVALID})
TRANSIENT_CODES: Final = frozenset({SERVICE_UNAVAILABLE})
