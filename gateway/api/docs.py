"""`/docs`: Swagger UI from an installed package, so it works with no internet.

FastAPI's own page fetches Swagger UI from a CDN and starts it with an inline script;
on an isolated government network that page is blank, and an inline script needs a
weaker Content-Security-Policy than the workspace's. Here the assets come from the
`swagger-ui-bundle-v2` package (Swagger UI's own dist files) through our route, the page
is started by `static/docs.js`, and the page carries the same strict policy as `/web`.
Only the files the page needs are served: the dist's demo initializer points at the
petstore on the internet.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

DIST = Path(swagger_ui_bundle.swagger_ui_path)
OWN = Path(__file__).parent / "static"
ASSETS = "/docs/assets"
_FILES: dict[str, Path] = {
    "swagger-ui.css": DIST / "swagger-ui.css",
    "swagger-ui-bundle.js": DIST / "swagger-ui-bundle.js",
    "favicon-32x32.png": DIST / "favicon-32x32.png",
    "docs.js": OWN / "docs.js",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} — API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/docs.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve `/docs` and its assets; the app must be built with `docs_url=None`."""
    html = page(app.title, app.openapi_url or "/openapi.json")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers=HEADERS)

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        path = _FILES.get(name)
        if path is None:
            raise HTTPException(404, f"no asset '{name}'")
        return FileResponse(path, headers={**HEADERS, "Cache-Control": "no-cache"})
