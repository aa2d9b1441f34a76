"""A page that exists only for the signing widget's browser test.

It renders the real `_sign.html` macro and serves the real `sign.js` under the
workspace's own Content-Security-Policy, for one fixed hand-over (the head of the
labour mobility centre returning a case at p.9); on submit it rebuilds the statement
from the posted fields, exactly as a route must, and verifies the signature with
`gateway.signatures.verify_handover`. Every submission is kept for the test to read.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, select_autoescape

from contracts.signing import HandoverStatement
from gateway.signatures import (
    SignatureRefused,
    Signer,
    TrustAnchors,
    signature_from_form,
    signing_request,
    verify_handover,
)
from gateway.web import routes as web_routes
from gateway.web.i18n import translate

WEB = Path(web_routes.__file__).parent
BODY, ROLE = "lmc_turkestan", "head"
REMARKS = "Уточнить сведения о близких родственниках в ЦКС"

PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Подпись передачи</title>
<link rel="stylesheet" href="/web/static/app.css"></head>
<body><main id="main">
<h1>Возврат заявления на доработку</h1>
<p>Замечания: <span id="remarks-shown">{{ statement.remarks }}</span></p>
{% from "_sign.html" import sign_form with context %}
{% call sign_form(signing, action="/sign", csrf="test-csrf") %}
  <input type="hidden" name="case_id" value="{{ statement.case_id }}">
  <input type="hidden" name="step" value="{{ statement.step }}">
  <input type="hidden" name="round" value="{{ statement.round }}">
  <input type="hidden" name="body" value="{{ statement.body }}">
  <input type="hidden" name="decision" value="{{ statement.decision }}">
  <input type="hidden" name="remarks" value="{{ statement.remarks }}">
  <input type="hidden" name="data" value="{{ data_json }}">
  <input type="hidden" name="signed_at" value="{{ statement.signed_at.isoformat() }}">
{% endcall %}
</main></body></html>
"""

RESULT = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Результат</title></head>
<body><main><p id="result" data-reason="{{ reason }}">{{ text }}</p></main></body></html>
"""


@dataclass
class Submission:
    form: dict[str, str]
    signer: Signer | None = None
    refusal: SignatureRefused | None = None


@dataclass
class SignPage:
    url: str
    submissions: list[Submission] = field(default_factory=list)


def _environment() -> Environment:
    loader = ChoiceLoader(
        [
            DictLoader({"page.html": PAGE, "result.html": RESULT}),
            FileSystemLoader(WEB / "templates"),
        ]
    )
    environment = Environment(loader=loader, autoescape=select_autoescape(default=True))

    def t(key: str, **values: object) -> str:
        return translate("ru", key, **values)

    environment.globals["t"] = t
    return environment


def create_app(trust: TrustAnchors, submissions: list[Submission]) -> FastAPI:
    app = FastAPI()
    app.mount("/web/static", StaticFiles(directory=WEB / "static"), name="static")
    environment = _environment()

    def html(name: str, **context: Any) -> HTMLResponse:
        response = HTMLResponse(environment.get_template(name).render(**context))
        response.headers.update(web_routes.SECURITY_HEADERS)
        return response

    @app.get("/sign")
    async def page() -> HTMLResponse:
        statement = HandoverStatement(
            case_id="case-sign-1",
            flow="kandas_application",
            step="lmc_review",
            round=0,
            body=BODY,
            decision="return",
            remarks=REMARKS,
            data={"relatives_checked": False},
            signed_at=datetime.now(UTC),
        )
        return html(
            "page.html",
            statement=statement,
            signing=signing_request(statement),
            data_json=json.dumps(statement.data),
        )

    @app.post("/sign")
    async def submit(request: Request) -> HTMLResponse:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        submission = Submission(form)
        submissions.append(submission)
        statement = HandoverStatement(
            case_id=form["case_id"],
            flow="kandas_application",
            step=form["step"],
            round=int(form["round"]),
            body=form["body"],
            decision=form["decision"],
            remarks=form["remarks"] or None,
            data=json.loads(form["data"]),
            signed_at=datetime.fromisoformat(form["signed_at"]),
        )
        try:
            submission.signer = verify_handover(
                statement,
                signature_from_form(form),
                trust=trust,
                expected_body=BODY,
                expected_role=ROLE,
                now=datetime.now(UTC),
            )
        except SignatureRefused as refusal:
            submission.refusal = refusal
            text = translate("ru", refusal.message_key, **refusal.params)
            return html("result.html", reason=refusal.reason.value, text=text)
        return html("result.html", reason="ok", text=submission.signer.full_name)

    return app


class Served:
    """The page's app under uvicorn in a thread, for as long as the test needs it."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.server.started:
            raise RuntimeError("the signing test page did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
