"""Who sent a status message: the broker-validated AMQP `user_id`, never the message body.

RabbitMQ refuses a publish whose `user_id` property is not the publishing connection's
user, so `user_id` is an identity the broker has checked. Each connected body publishes
as its own user, `<prefix>.body.<code>` (`gateway broker provision` creates them with
permissions to read only the body's queue and write only to the status exchange). The
collector takes the reporting body from that user and refuses a report that names
another body, and (with `GATEWAY_BROKER_IDENTITIES=required`) one with no body identity.

Pure rules, so that they can be re-applied wherever the collector is rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

USER_INFIX = ".body."


def body_user(prefix: str, code: str) -> str:
    """The RabbitMQ user of a connected body."""
    return f"{prefix}{USER_INFIX}{code}"


def body_of(user_id: str | None, prefix: str) -> str | None:
    """The body a validated `user_id` belongs to, or None when it is no body's user."""
    marker = f"{prefix}{USER_INFIX}"
    if not user_id or not user_id.startswith(marker):
        return None
    code = user_id[len(marker) :]
    return code or None


def reporting_body(
    user_id: str | None, claimed: str, prefix: str, *, required: bool
) -> tuple[str | None, str | None]:
    """(the body to act as, None) or (None, the reason to refuse the message).

    `claimed` is the body the message names (its `agency` or `body` field): it may only
    repeat the validated identity. Without an identity, the claim is taken only where
    identities are not yet required (bodies not yet provisioned); `guest` is no body.
    """
    body = body_of(user_id, prefix)
    if body is None:
        if required or user_id:
            who = f"user '{user_id}'" if user_id else "no user_id"
            return None, (
                f"a status message must come from a body's own broker user ({who}); "
                "forged or unprovisioned reports are refused"
            )
        return claimed, None
    if body != claimed:
        return None, (
            f"broker user '{user_id}' is body '{body}' and may not report for '{claimed}'"
        )
    return body, None


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str


def body_permissions(prefix: str, code: str) -> Permissions:
    """Read only its own queue, publish only to the status exchange, declare nothing."""
    return Permissions(
        configure="^$",
        write=f"^{re.escape(prefix)}\\.status$",
        read=f"^{re.escape(prefix)}\\.agency\\.{re.escape(code)}$",
    )
