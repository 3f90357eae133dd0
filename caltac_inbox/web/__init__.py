"""`caltac-inbox serve`: calendar feeds and the web timeline, read-only (the `web` extra:
Starlette, uvicorn, Jinja2)."""
