"""The register of family support centres (ЦПС): who may hold a centre's key and submit plans.

A key is proof of who is calling; the register says whether that caller is a centre at
all. Without it any admin could issue a key for any string as a "centre", and its plans
would be routed to the state bodies as if an akimat had opened that centre. So a centre's
key is issued only for a registered centre (`clients.add_client`), and a plan is accepted
only while its centre is registered and not closed (`plans.submit_plan`, the submit
group).

Where it lives: a table (`centres`, migration 0011), not a data file like
`gateway/data/agencies.json`. The twelve bodies of order 192 change with an order and a
release; centres are opened by local executive bodies at any time, and operators add them
while the gateway runs (`gateway centres add`, `POST /api/v1/centres`), from any process,
with each addition an interagency audit record. The table also holds the centre's names
in Russian and Kazakh, which the workspace shows in its header (`name_of`).

A centre is closed, never deleted: its plans, tasks and timeline stay, bodies keep
reporting on them and the centre's key still reads and reviews them; only new plans are
refused. Adding a closed centre again reopens it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.services import audit_log
from gateway.store import bulk
from gateway.store.tables import centres

CODE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{1,63}")  # as contracts' CentreCode
ADD_HINT = "add it first with `gateway centres add` or POST /api/v1/centres"


@dataclass(frozen=True)
class Centre:
    code: str
    name_ru: str
    name_kk: str
    added_at: datetime
    added_by: str
    closed_at: datetime | None

    @property
    def open(self) -> bool:
        return self.closed_at is None


def _centre(row: object) -> Centre:
    m = row._mapping  # type: ignore[attr-defined]
    return Centre(
        m["code"], m["name_ru"], m["name_kk"], m["added_at"], m["added_by"], m["closed_at"]
    )


async def get_centre(conn: AsyncConnection, code: str) -> Centre | None:
    row = (await conn.execute(select(centres).where(centres.c.code == code))).first()
    return _centre(row) if row is not None else None


async def list_centres(conn: AsyncConnection) -> list[Centre]:
    rows = await conn.execute(select(centres).order_by(centres.c.code))
    return [_centre(r) for r in rows]


# Through the driver (gateway/store/bulk.py): once for every submit group.
_OPEN_CODES = bulk.Statement(
    postgresql="SELECT code FROM centres WHERE code = ANY($1::varchar[]) AND closed_at IS NULL",
    sqlite="SELECT code FROM centres "
    "WHERE code IN (SELECT value FROM json_each(?1)) AND closed_at IS NULL",
)


async def open_codes(conn: AsyncConnection, codes: Iterable[str]) -> set[str]:
    """Which of these centres are registered and open: one query for a submit group."""
    wanted = sorted(set(codes))
    if not wanted:
        return set()
    return {row[0] for row in await bulk.fetch(conn, _OPEN_CODES, (bulk.array(conn, wanted),))}


def not_registered(code: str) -> Forbidden:
    """Why a plan of an unregistered or closed centre is refused: 403, not 422.

    The request itself is well formed and its credential is genuine (`centre` must
    already equal the key's own centre), so no change to the body would make it
    acceptable: what is missing is the caller's standing as a family support centre.
    That is a refusal of who is asking (403), as for a key of another centre; a 422 would
    tell the centre's system to fix a field it cannot fix.
    """
    return Forbidden(
        f"centre '{code}' is not in the register of family support centres (never added, "
        "or closed): its plans are not accepted; an operator adds it with "
        "`gateway centres add`"
    )


async def require_open(conn: AsyncConnection, code: str) -> None:
    if not await open_codes(conn, [code]):
        raise not_registered(code)


async def why_no_key(conn: AsyncConnection, code: str) -> str | None:
    """Why a centre's key may not be issued for this code, or None when it may."""
    found = await get_centre(conn, code)
    if found is None:
        return f"centre '{code}' is not in the register of family support centres; {ADD_HINT}"
    if not found.open:
        return (
            f"centre '{code}' ({found.name_ru}) was closed in the register on "
            f"{found.closed_at:%Y-%m-%d}; adding it again reopens it"
        )
    return None


def _checked(code: str, name_ru: str, name_kk: str) -> tuple[str, str, str]:
    code = code.strip()
    if not CODE_PATTERN.fullmatch(code):
        raise InvalidInput.field(
            "code", "2 to 64 characters: lower-case Latin letters, digits, '.', '_' or '-'"
        )
    names = []
    for field, name in (("name_ru", name_ru), ("name_kk", name_kk)):
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput.field(field, "is required, at most 200 characters")
        names.append(name)
    return code, names[0], names[1]


async def add_centre(
    conn: AsyncConnection,
    *,
    code: str,
    name_ru: str,
    name_kk: str,
    actor: str,
    now: datetime,
) -> Centre:
    """Register a centre (or reopen a closed one), as an interagency audit record."""
    code, name_ru, name_kk = _checked(code, name_ru, name_kk)
    found = await get_centre(conn, code)
    if found is not None and found.open:
        raise Conflict(f"centre '{code}' is already in the register ({found.name_ru})")
    values = dict(name_ru=name_ru, name_kk=name_kk, added_at=now, added_by=actor[:100])
    if found is None:
        await conn.execute(insert(centres).values(code=code, closed_at=None, **values))
    else:
        await conn.execute(
            update(centres).where(centres.c.code == code).values(closed_at=None, **values)
        )
    await audit_log.record(
        conn,
        at=now,
        actor=actor,
        action="centre_added",
        data={
            "centre": code,
            "name_ru": name_ru,
            "name_kk": name_kk,
            "reopened": found is not None,
        },
    )
    return Centre(code, name_ru, name_kk, now, actor[:100], None)


async def ensure_centre(
    conn: AsyncConnection, *, code: str, name_ru: str, name_kk: str, actor: str, now: datetime
) -> bool:
    """Register the centre unless it is already registered and open; whether it added it.
    For the bootstrap, which runs at every `gateway up`."""
    try:
        await add_centre(conn, code=code, name_ru=name_ru, name_kk=name_kk, actor=actor, now=now)
    except Conflict:
        return False  # there and open: add_centre refused before writing anything
    return True


async def close_centre(conn: AsyncConnection, code: str, *, actor: str, now: datetime) -> None:
    """Take a centre out of the register: its new plans are refused from now on; what it
    already submitted stays and goes on. An interagency audit record."""
    found = await get_centre(conn, code)
    if found is None:
        raise NotFound(f"no centre '{code}' in the register")
    if not found.open:
        return  # closing twice changes nothing and is not a second record
    await conn.execute(update(centres).where(centres.c.code == code).values(closed_at=now))
    await audit_log.record(conn, at=now, actor=actor, action="centre_closed", data={"centre": code})


async def name_of(conn: AsyncConnection, code: str, lang: str = "ru") -> str | None:
    """The centre's registered name in the page's language (Kazakh or Russian)."""
    found = await get_centre(conn, code)
    if found is None:
        return None
    return found.name_kk if lang == "kk" else found.name_ru
