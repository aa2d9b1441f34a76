"""Verifying a case's chain of signed hand-overs after the fact.

Each hand-over is stored with the exact bytes that were signed and the signature with
its certificate. Re-verifying them later needs nothing from the process that accepted
them: rebuild each statement from the stored bytes, check it still names this case and
this step, and check the signature against the trusted roots as the owner's.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.cases import ChainVerification
from contracts.signing import HandoverStatement, Signature, canonical_bytes
from gateway.domain.flow import load_flow
from gateway.services.cases import SignatureRejected, verifier
from gateway.services.context import Context
from gateway.store.tables import handovers, plans


async def verify_case_chain(
    conn: AsyncConnection, ctx: Context, case_id: str, now: datetime
) -> ChainVerification:
    flow_id = (await conn.execute(select(plans.c.flow).where(plans.c.id == case_id))).scalar()
    rows = (
        await conn.execute(
            select(handovers).where(handovers.c.plan_id == case_id).order_by(handovers.c.id)
        )
    ).all()
    verify = verifier(ctx)
    verified = 0
    failure: str | None = None
    for row in rows:
        statement = HandoverStatement.model_validate(json.loads(row.statement))
        where = f"hand-over {row.id} (step {row.step}, round {row.round})"
        if canonical_bytes(statement).decode() != row.statement:
            failure = f"{where}: stored statement is not in canonical form"
        elif (statement.case_id, statement.step, statement.round, statement.body) != (
            case_id,
            row.step,
            row.round,
            row.body,
        ) or statement.decision != row.decision:
            failure = f"{where}: the signed statement does not match the stored hand-over"
        else:
            role = load_flow(flow_id or statement.flow).step(row.step).role
            try:
                verify(
                    statement,
                    Signature.model_validate(row.signature),
                    expected_body=row.body,
                    expected_role=role,
                    # a certificate valid when signed stays valid for the record
                    now=row.signed_at,
                )
            except SignatureRejected as error:
                failure = f"{where}: {error.detail}"
            except Exception as error:  # the verifier's refusal
                failure = f"{where}: {error}"
        if failure:
            break
        verified += 1
    return ChainVerification(
        case_id=case_id, handovers=len(rows), verified=verified, first_failure=failure
    )
