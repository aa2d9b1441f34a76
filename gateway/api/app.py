"""Assembling the FastAPI application from its routers and edges."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request

from gateway import logs, metrics, tracing
from gateway.api import back_pressure, docs, openapi, problems, routes_registry
from gateway.api.body_limit import BodyLimitMiddleware
from gateway.api.deps import AppState
from gateway.api.routes_adaptation import router as adaptation_router
from gateway.api.routes_admin import router as admin_router
from gateway.api.routes_cases import router as cases_router
from gateway.api.routes_centres import router as centres_router
from gateway.api.routes_egov import router as egov_router
from gateway.api.routes_incidents import router as incidents_router
from gateway.api.routes_metrics import router as metrics_router
from gateway.api.routes_plans import router as plans_router
from gateway.api.routes_tasks import router as tasks_router
from gateway.web.adaptation_pages import router as adaptation_pages_router
from gateway.web.case_pages import router as case_pages_router
from gateway.web.egov_pages import router as egov_pages_router
from gateway.web.routes import install as install_web


async def bind_request_ids(request: Request) -> None:
    """Every log line of a request names the case and task it is about (gateway.logs)."""
    params = request.path_params
    logs.bind_now(
        case_id=params.get("plan_id") or params.get("case_id"), task_id=params.get("task_id")
    )


def create_app(state: AppState) -> FastAPI:
    app = FastAPI(
        title="Interagency family support gateway",
        version="1.0",
        description=(
            "Routes an approved individual work plan (ИПР) to the state bodies that own its "
            "activities, collects their reports, and tracks the legal terms of order No. 192."
        ),
        dependencies=[Depends(bind_request_ids)],
        docs_url=None,  # served by gateway.api.docs from an installed package, not a CDN
        redoc_url=None,
        # Our traces come from OpenTelemetry's FastAPI instrumentation (gateway/tracing.py,
        # GATEWAY_TRACES). FastAPI's own telemetry layer, when on, asks for the global
        # tracer, meter and logger providers on every request, each a look into
        # os.environ when none is set (1.5 % of the gateway's time in the bench's profile).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.gw = state
    problems.install(app)
    openapi.install(app)
    docs.install(app)
    app.include_router(plans_router)
    app.include_router(tasks_router)
    app.include_router(admin_router)
    app.include_router(centres_router)
    app.include_router(routes_registry.router)
    app.include_router(cases_router)
    app.include_router(incidents_router)
    app.include_router(metrics_router)
    app.include_router(adaptation_router)
    install_web(app)
    app.include_router(case_pages_router)
    app.include_router(adaptation_pages_router)
    app.include_router(egov_router)
    install_web(app)
    app.include_router(case_pages_router)
    app.include_router(egov_pages_router)
    back_pressure.install(app, state)
    settings = state.settings
    media_bytes = 4 * max(settings.media_photo_max_bytes, settings.media_video_max_bytes)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=state.settings.max_body_bytes,
        # Work reports carry photos and videos (order 170 p.36); each file's own limit is
        # checked, and named, by the route.
        wider={"/reports": max(media_bytes, state.settings.max_body_bytes)},
        wider_prefix="/api/v1/kandas/adaptations/",
    )
    app.add_middleware(metrics.HttpMetrics)
    tracing.instrument(app)
    return app
