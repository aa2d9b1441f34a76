"""A WireMock-like admin API for any mock built on Starlette or FastAPI.

Developers script a mock's misbehaviour and verify what it was asked, over HTTP under
``/__admin``: fault rules (delay, SOAP fault, HTTP error, connection reset, malformed
or truncated body) fired by probability, every Nth call or for the next K calls;
named scenarios whose state rules can require and move; a request journal; the mock's
clock; and a reset of all of it. See ``mocks/shep/README.md`` for the endpoints.

A REST mock needs two lines::

    admin = MockAdmin()
    install_admin(app, admin, middleware=True)   # faults and journal keyed by route name

A mock that only knows its service key after parsing (the SOAP bus: ``serviceId``)
installs without the middleware and calls ``admin.decide(key, ...)`` itself, then
``admin.journal.add(...)``; ``ConnectionResetResponse`` drops the connection.
"""

from mocks.admin.clock import MockClock
from mocks.admin.core import MockAdmin
from mocks.admin.faults import (
    ANY_SERVICE,
    AppliedFault,
    FaultKind,
    FaultRule,
    FaultSpec,
    malformed_body,
    truncate_body,
)
from mocks.admin.http import (
    ConnectionDropped,
    ConnectionResetResponse,
    FaultMiddleware,
    install_admin,
    reset_connection,
    route_name,
)
from mocks.admin.journal import JournalRecord, RequestJournal
from mocks.admin.scenarios import STARTED, Scenarios

__all__ = [
    "ANY_SERVICE",
    "STARTED",
    "AppliedFault",
    "ConnectionDropped",
    "ConnectionResetResponse",
    "FaultKind",
    "FaultMiddleware",
    "FaultRule",
    "FaultSpec",
    "JournalRecord",
    "MockAdmin",
    "MockClock",
    "RequestJournal",
    "Scenarios",
    "install_admin",
    "malformed_body",
    "reset_connection",
    "route_name",
    "truncate_body",
]
