"""Verifying a case's chain of signed hand-overs after the fact.

Each hand-over is stored with the exact bytes that were signed and the signature with
its certificate. Re-verifying them later needs nothing from the process that accepted
them: rebuild each statement from the stored bytes, check it is the stored hand-over
(this case, this step, this decision), and let `gateway.signatures.verify_chain` check
every signature against the trusted roots as the step owner's, at the moment it was
accepted, and the records' order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.cases import ChainVerification
from contracts.signing import HandoverStatement, Signature, canonical_bytes
from gateway.domain.flow import load_flow
from gateway.services.context import Context
from gateway.signatures import HandoverRecord, verify_chain
from gateway.store.tables import handovers, plans


async def verify_case_chain(conn: AsyncConnection, ctx: Context, case_id: str) -> ChainVerification:
    flow_id = (await conn.execute(select(plans.c.flow).where(plans.c.id == case_id))).scalar()
    rows = (
        await conn.execute(
            select(handovers).where(handovers.c.plan_id == case_id).order_by(handovers.c.id)
        )
    ).all()
    records: list[HandoverRecord] = []
    for row in rows:
        statement = HandoverStatement.model_validate(json.loads(row.statement))
        where = f"hand-over {row.id} (step {row.step}, round {row.round})"
        stored = (case_id, row.step, row.round, row.body, row.decision)
        signed = (
            statement.case_id,
            statement.step,
            statement.round,
            statement.body,
            statement.decision,
        )
        if canonical_bytes(statement).decode() != row.statement:
            return _result(case_id, rows, len(records), f"{where}: not in canonical form")
        if signed != stored:
            return _result(
                case_id, rows, len(records), f"{where}: the signed statement is not the hand-over"
            )
        records.append(
            HandoverRecord(
                statement=statement,
                signature=Signature.model_validate(row.signature),
                expected_body=row.body,
                expected_role=load_flow(flow_id or statement.flow).step(row.step).role,
                accepted_at=row.received_at,
            )
        )
    if ctx.trust is None:
        return _result(case_id, rows, 0, "no trusted certification authority is configured")
    report = verify_chain(records, trust=ctx.trust)
    failure = None
    if report.failure is not None:
        row = rows[report.failure.index]
        failure = (
            f"hand-over {row.id} (step {row.step}, round {row.round}): {report.failure.refusal}"
        )
    return _result(case_id, rows, len(report.signers), failure)


def _result(
    case_id: str, rows: Sequence[object], verified: int, failure: str | None
) -> ChainVerification:
    return ChainVerification(
        case_id=case_id, handovers=len(rows), verified=verified, first_failure=failure
    )
