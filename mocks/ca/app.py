"""The mock certification authority's REST API (НУЦ РК stands behind it in production).

The gateway needs only the root (`GET /ca.pem`) and, to honour revocations, the CRL
(`GET /crl`). Developers also read the officials' index, issue a certificate for a key
of their own (a CSR with the body, role and region it should carry) and revoke
certificates to watch the gateway refuse them. The admin API of `mocks.admin` is under
`/__admin` (faults keyed by route name, journal, clock, reset); the CA's clock is the
admin's, so setting it in the past issues certificates that are already expired today.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.cases import RegionCode
from contracts.common import AgencyCode
from mocks.admin import MockAdmin, install_admin
from mocks.ca.authority import Revocation
from mocks.ca.state import CaState, serial_hex
from mocks.rest_app import Refused, idempotent, install_problem_handlers

__all__ = ["create_app"]

PEM = "application/x-pem-file"


class CertificateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    csr: Annotated[str, StringConstraints(min_length=64, max_length=16000)] = Field(
        description="PKCS#10 request, PEM, signed by the key to certify."
    )
    body: AgencyCode
    role: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    region: RegionCode
    full_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    iin: str | None = None
    valid_days: int = Field(default=365, ge=1, le=3650)


class RevocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    serial: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    reason: str = "unspecified"


def _revocation(revocation: Revocation) -> dict[str, Any]:
    return {
        "serial": serial_hex(revocation.serial),
        "revoked_at": revocation.revoked_at.isoformat(),
        "reason": revocation.reason.name,
    }


def create_app(state: CaState, admin: MockAdmin | None = None) -> FastAPI:
    """The mock CA over ``state``; the admin's clock becomes the CA's clock."""
    admin = admin or MockAdmin()
    state.clock = admin.clock
    app = FastAPI(title="Mock certification authority (НУЦ РК)")
    app.state.ca = state
    app.state.admin = admin
    install_problem_handlers(app)

    @app.get("/ca.pem", name="ca.root")
    async def root() -> Response:
        return Response(state.root_pem(), media_type=PEM)

    @app.get("/officials", name="officials.list")
    async def officials() -> dict[str, Any]:
        return {"root": "/ca.pem", "officials": state.officials_index()}

    @app.post("/certificates", status_code=201, name="certificates.create")
    async def issue(request_in: CertificateRequest, request: Request) -> JSONResponse:
        async def make() -> Any:
            issued = state.issue_for_csr(
                request_in.csr,
                body=request_in.body,
                role=request_in.role,
                region=request_in.region,
                full_name=request_in.full_name,
                iin=request_in.iin,
                valid_days=request_in.valid_days,
            )
            return issued.as_json()

        return await idempotent(state, request, "certificates.create", 201, make)

    @app.get("/certificates/{serial}", name="certificates.get")
    async def certificate(serial: str) -> dict[str, Any]:
        issued = state.certificate(serial)
        if issued is None:
            raise Refused(404, "Not found", [{"field": "serial", "reason": "not issued here"}])
        return issued.as_json()

    @app.post("/revocations", name="revocations.create")
    async def revoke(request_in: RevocationRequest) -> JSONResponse:
        revocation, new = state.revoke(request_in.serial, request_in.reason)
        return JSONResponse(_revocation(revocation), status_code=201 if new else 200)

    @app.get("/revocations", name="revocations.list")
    async def revocations() -> dict[str, Any]:
        return {"revocations": [_revocation(r) for r in state.revocations()]}

    @app.get("/crl", name="crl.get")
    async def crl(format: Literal["pem", "der"] = Query("pem")) -> Response:
        signed = state.crl()
        if format == "der":
            der = signed.public_bytes(serialization.Encoding.DER)
            return Response(der, media_type="application/pkix-crl")
        return Response(signed.public_bytes(serialization.Encoding.PEM), media_type=PEM)

    @app.post("/__admin/data/reset", status_code=204)
    async def reset_data() -> None:
        """Forget revocations and developers' certificates (the officials stay)."""
        state.reset_data()

    install_admin(app, admin, middleware=True)
    return app
