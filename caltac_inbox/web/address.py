"""Where the web server (`caltac-inbox serve`) listens by default and how links to it are
made: shared by the commands that serve it and those that print links to it (feed,
editor). Light to import: nothing but constants."""
from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025
DEFAULT_BASE_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
BASE_URL_ENV = "CALTAC_INBOX_BASE_URL"  # the server's public URL, for the links `feed create` and `editor add` print

__all__ = ["BASE_URL_ENV", "DEFAULT_BASE_URL", "DEFAULT_HOST", "DEFAULT_PORT"]
