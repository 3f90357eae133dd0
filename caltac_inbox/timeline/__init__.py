"""What the facts mean in time, with no I/O: Los Angeles time (`time`), what each kind of
fact means (`kinds`), the timeline entry (`entry`) and the replay that builds entries
from facts (`reconcile`). Imports only `caltac_inbox.model` and the standard library
(tests/unit/test_layers.py checks)."""
