"""Where the tests find the project's shared material: the labelled dev corpus
(corpus/, corpus/labels.jsonl) and the user's seed documents (seeds/).

It is expected at ../shared beside the repository, as on the project machines and in
CI; set CALTAC_SHARED=DIR (or `make test SHARED=DIR`) to use another place. A test that
needs it is skipped with that explanation when it is missing, except under CI=true,
where it runs and fails on the missing file.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("CALTAC_SHARED") or Path(__file__).resolve().parents[2] / "shared")
IN_CI = os.environ.get("CI", "").lower() == "true"


def needs_shared(*parts: str) -> pytest.MarkDecorator:
    """Skip the test (outside CI) when SHARED/parts does not exist, saying where it was expected."""
    path = SHARED.joinpath(*parts)
    return pytest.mark.skipif(
        not path.exists() and not IN_CI,
        reason=f"{path} not found: the shared corpus is expected at ../shared beside the repository; "
               "set CALTAC_SHARED=DIR to point elsewhere",
    )
