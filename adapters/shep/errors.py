"""What can go wrong on the bus, as exceptions a caller can act on.

The split follows what a caller should do next: ``ShepNotFound`` is an answer (the
registry has no such record), ``ShepAuthError`` is our configuration (credentials,
keys) and needs a human, ``ShepUnavailable`` is transient and already retried when it
reaches the caller, and anything else is a contract problem worth an incident.
"""

from __future__ import annotations


class ShepError(Exception):
    """The bus or the registry refused or failed the request."""

    def __init__(self, message: str, *, code: str | None = None, message_id: str | None = None):
        super().__init__(message if code is None else f"{code}: {message}")
        self.code = code
        self.message_id = message_id


class ShepNotFound(ShepError):
    """The registry answered that it has no record for the key asked."""


class ShepAuthError(ShepError):
    """The bus does not accept our sender credentials or signature."""


class ShepSignatureError(ShepAuthError):
    """The answer's signature is missing, untrusted or wrong: it cannot be believed."""


class ShepUnavailable(ShepError):
    """The bus could not be reached or did not answer in time: transient."""


class ShepCircuitOpen(ShepUnavailable):
    """Not even tried: the service failed repeatedly and is cooling down."""


class ShepUnexpectedReply(ShepError):
    """A genuine, signed answer, but not to this request.

    Its correlation names another message: an earlier reply replayed, or one meant for
    another request. Believing it would hand the caller someone else's record, so it is
    refused and not retried (a replay is an incident, not a transient failure).
    """
