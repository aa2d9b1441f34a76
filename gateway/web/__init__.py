"""The family support centre's web workspace (server-rendered pages under /web)."""
