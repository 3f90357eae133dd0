"""The Alembic scripts, installed as the package `caltac_inbox._migrations` (see
pyproject.toml); caltac_inbox.store.db finds them through importlib.resources."""
