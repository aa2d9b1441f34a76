"""HTTP edge: FastAPI app, problem responses, credentials, routes under /api/v1."""
