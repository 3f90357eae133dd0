"""The README's demo, runnable with any caltac-inbox command line (the source tree's
`python -m caltac_inbox`, an installed wheel's script): `ingest samples/`, then
`upcoming --as-of 2020-08-01`, as `make demo` does."""
from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
DEMO_AS_OF = "2020-08-01"
# the receiving server the samples' Authentication-Results name (as in `make demo`)
DEMO_AUTHSERV_ID = "mx.district.k12.ca.us"
SOURCE_CLI = (sys.executable, "-m", "caltac_inbox")


def run(cli: Sequence[str], *args: str, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """Standard output of a run that must have exited 0 without a traceback."""
    assert done.returncode == 0 and "Traceback" not in done.stderr, (done.args, done.stdout, done.stderr)
    return done.stdout


def demo_upcoming(cli: Sequence[str], db_url: str, *, cwd: Path, samples: Path = SAMPLES,
                  env: dict[str, str] | None = None) -> str:
    """What `upcoming --as-of 2020-08-01` prints after `ingest` of the samples into `db_url`."""
    ok(run(cli, "--db", db_url, "ingest", "--authserv-id", DEMO_AUTHSERV_ID, str(samples), cwd=cwd, env=env))
    return ok(run(cli, "--db", db_url, "upcoming", "--as-of", DEMO_AS_OF, cwd=cwd, env=env))


def readme_upcoming() -> str:
    """The table shown under `$ caltac-inbox upcoming --as-of 2020-08-01` in README.md."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(f"    $ caltac-inbox upcoming --as-of {DEMO_AS_OF}") + 1
    block = itertools.takewhile(lambda line: line.startswith("    "), lines[start:])
    return "".join(line[4:] + "\n" for line in block)
