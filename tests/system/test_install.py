"""caltac-inbox installed the way users install it.

`python -m build` makes the sdist and, from that sdist, the wheel. The wheel goes into a
fresh venv outside the checkout (no -e, nothing of the source tree on sys.path, every
command run from a temporary directory holding a copy of samples/), first without extras
and then with [postgres]. There the demo (`ingest samples/`, `upcoming --as-of
2020-08-01`, `export-ics`, `db upgrade`, `doctor`) runs on a new SQLite file and on a new
PostgreSQL database and must print what the source tree prints; `poll` and `doctor` run
against a real Dovecot. `pipx install` of the wheel too, when pipx is installed.

CALTAC_TEST_WHEEL=path/to.whl checks that wheel instead of building one (for instance a
wheel of an older commit). Slow (most of it is pip): marked slow, run by `make test`.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from caltac_inbox import __version__
from caltac_inbox.store.db import REINSTALL, SCHEMA_HEAD
from tests.demo import DEMO_AUTHSERV_ID, REPO, SAMPLES, SOURCE_CLI, demo_upcoming, ok, run
from tests.dovecot import dovecot  # noqa: F401 - fixture
from tests.system.test_imap_dovecot import sample_bytes
from tests.web import serving

pytestmark = pytest.mark.slow

NO_PSYCOPG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SAMPLES_EML = sorted(SAMPLES.glob("*.eml"))


def user_env(root: Path) -> dict[str, str]:
    """The environment of a user who has only the installed tool: no PYTHONPATH, no
    caltac-inbox settings, configuration and data directories of their own under `root`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CALTAC_INBOX_"))}
    env.update({name: str(root / name.lower()) for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")})
    return env


def copy_samples(directory: Path) -> None:
    """The sample notices (not their build script) as `directory`/samples, for `ingest samples`."""
    shutil.copytree(SAMPLES, directory / "samples", ignore=shutil.ignore_patterns("*.py", "*.jsonl"))


def without_stamps(ics: str) -> list[str]:
    """The calendar's lines but the two that carry the time an entry was stored."""
    return [line for line in ics.splitlines() if not line.startswith(("DTSTAMP:", "LAST-MODIFIED:"))]


@dataclass(frozen=True)
class Install:
    """A caltac-inbox installed from the wheel, and how a user runs it."""

    cli: tuple[str, ...]  # the installed console script
    python: Path
    env: dict[str, str]
    cwd: Path  # outside the checkout; holds samples/
    postgres_before_extra: subprocess.CompletedProcess[str]  # a PostgreSQL URL before [postgres]

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run(self.cli, *args, cwd=self.cwd, env={**self.env, **env})


@dataclass(frozen=True)
class Demo:
    upcoming: str
    ics: str


def demo(cli: tuple[str, ...], db_url: str, cwd: Path, env: dict[str, str]) -> Demo:
    """The demo's upcoming table and calendar (written with -o, as users publish it)."""
    upcoming = demo_upcoming(cli, db_url, cwd=cwd, samples=Path("samples"), env=env)
    ok(run(cli, "--db", db_url, "export-ics", "-o", "demo.ics", cwd=cwd, env=env))
    return Demo(upcoming, (cwd / "demo.ics").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    given = os.environ.get("CALTAC_TEST_WHEEL")
    if given:
        return Path(given).resolve()
    out = tmp_path_factory.mktemp("dist")
    ok(subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], capture_output=True,
                      text=True, timeout=600))
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Install:
    root = tmp_path_factory.mktemp("user")
    venv = root / "venv"
    ok(subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=300))
    python = venv / "bin" / "python"
    env = user_env(root)
    cwd = root / "work"
    copy_samples(cwd)

    def pip_install(requirement: str) -> None:
        ok(run([str(python), "-m", "pip", "install", "-q", requirement], cwd=cwd, env=env, timeout=900))

    pip_install(str(wheel))
    cli = (str(venv / "bin" / "caltac-inbox"),)
    before = run(cli, "--db", NO_PSYCOPG_URL, "upcoming", cwd=cwd, env=env)
    pip_install(f"caltac-inbox[postgres] @ {wheel.as_uri()}")
    return Install(cli, python, env, cwd, before)


@pytest.fixture(scope="module")
def source_demo(tmp_path_factory) -> Demo:
    """What the source tree (the editable install running these tests) prints."""
    root = tmp_path_factory.mktemp("source")
    copy_samples(root)
    return demo(SOURCE_CLI, f"sqlite:///{root / 'demo.db'}", root, user_env(root))


def test_wheel_carries_the_migrations_and_the_license(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = REPO / "migrations"
    every_script = {f"caltac_inbox/_migrations/{path.relative_to(migrations).as_posix()}"
                    for path in migrations.rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    assert every_script - names == set()
    assert "caltac_inbox/_migrations/versions/0001_initial_schema.py" in every_script
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def test_wheel_carries_the_web_templates_and_static_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    web = REPO / "caltac_inbox" / "web"
    every_file = {f"caltac_inbox/web/{path.relative_to(web).as_posix()}"
                  for path in web.rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    assert every_file - names == set()
    assert {"caltac_inbox/web/templates/timeline.html", "caltac_inbox/web/static/copy.js"} <= every_file


def test_installed_wheel_serves_feeds_and_the_page_with_the_web_extra(installed, wheel, tmp_path):
    done = installed.run("--db", f"sqlite:///{tmp_path / 'demo.db'}", "serve")
    assert done.returncode == 2 and "pip install 'caltac-inbox[web]'" in done.stderr  # before the extra
    ok(run([str(installed.python), "-m", "pip", "install", "-q", f"caltac-inbox[web] @ {wheel.as_uri()}"],
           cwd=installed.cwd, env=installed.env, timeout=900))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    ok(installed.run("--db", url, "ingest", "--authserv-id", DEMO_AUTHSERV_ID, "samples"))
    feed = json.loads(ok(installed.run("--db", url, "feed", "create", "--json")))
    with serving(url, tmp_path / "serve.log", command=installed.cli, cwd=installed.cwd, env=installed.env) as server:
        calendar = httpx.get(server.base + feed["path"], timeout=30)
        page = httpx.get(server.base + "/", params={"token": feed["token"], "as_of": "2020-08-01"},
                         follow_redirects=True, timeout=30)
        css = httpx.get(server.base + "/static/app.css", timeout=30)
    assert calendar.status_code == 200 and calendar.text.startswith("BEGIN:VCALENDAR")
    assert page.status_code == 200 and "Week of Sun, Aug 9, 2020" in page.text
    assert css.status_code == 200 and ".bar" in css.text


def test_sdist_carries_what_the_wheel_is_built_from(wheel):
    sdists = list(wheel.parent.glob("*.tar.gz"))
    if not sdists:
        pytest.skip("CALTAC_TEST_WHEEL names a wheel without its sdist beside it")
    with tarfile.open(sdists[0]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "migrations/env.py", "migrations/__init__.py", "docs/facts.md", "pyproject.toml"} <= names


def test_installed_package_is_not_the_source_tree(installed):
    code = "import sys, caltac_inbox._migrations as m; print(m.__file__); print('\\n'.join(sys.path))"
    printed = ok(run([str(installed.python), "-c", code], cwd=installed.cwd, env=installed.env)).splitlines()
    assert printed[0].startswith(str(installed.python.parent.parent))
    assert not [entry for entry in printed[1:] if entry and Path(entry).resolve().is_relative_to(REPO)]


def test_base_install_asks_for_the_postgres_extra(installed):
    done = installed.postgres_before_extra
    assert done.returncode == 5 and done.stdout == ""
    assert done.stderr.startswith("caltac-inbox: error: PostgreSQL support is not installed")
    assert "pip install 'caltac-inbox[postgres]'" in done.stderr and done.stderr.count("\n") == 1


def test_installed_wheel_gives_the_demo_of_the_source_tree(installed, db_url, source_demo):
    shown = demo(installed.cli, db_url, installed.cwd, installed.env)
    assert shown.upcoming == source_demo.upcoming
    assert without_stamps(shown.ics) == without_stamps(source_demo.ics)
    assert f"is at revision {SCHEMA_HEAD} (latest)" in ok(installed.run("--db", db_url, "db", "upgrade"))
    assert ok(installed.run("--version")) == f"caltac-inbox {__version__} (schema {SCHEMA_HEAD})\n"
    assert ok(run([str(installed.python), "-m", "caltac_inbox", "--version"], cwd=installed.cwd,
                  env=installed.env)) == f"caltac-inbox {__version__} (schema {SCHEMA_HEAD})\n"


def test_installed_wheel_polls_and_passes_doctor(installed, dovecot, db_url, tmp_path):  # noqa: F811
    config = tmp_path / "config.toml"
    config.write_text(dovecot.mailbox_toml())
    dovecot.append(sample_bytes())
    env = {"CALTAC_INBOX_CONFIG": str(config), "CALTAC_TEST_IMAP_PASSWORD": dovecot.password}
    polled = ok(installed.run("--db", db_url, "poll", "--verbose", **env)).splitlines()  # counts after the changes
    assert polled[0].startswith("new      ") and polled[-1].startswith(f"coordinator: fetched {len(SAMPLES_EML)}")
    doctor = ok(installed.run("--db", db_url, "doctor", **env))
    assert f"ok    migrations: {installed.python.parent.parent}" in doctor
    assert f"schema up to date ({SCHEMA_HEAD})" in doctor and doctor.endswith("all checks passed\n")


def test_install_without_migrations_names_the_problem(installed, tmp_path):
    (package,) = installed.python.parent.parent.glob("lib/python*/site-packages/caltac_inbox/_migrations")
    aside = tmp_path / "_migrations"
    package.rename(aside)
    try:
        ingest = installed.run("--db", f"sqlite:///{tmp_path / 'new.db'}", "ingest", "samples")
        doctor = installed.run("--db", f"sqlite:///{tmp_path / 'new.db'}", "doctor")
    finally:
        aside.rename(package)
    assert ingest.returncode == 5
    assert ingest.stderr == ("caltac-inbox: error: this installation has no database migrations (package "
                             f"caltac_inbox._migrations is missing); {REINSTALL}\n")
    assert doctor.returncode == 5
    assert "FAIL  migrations: this installation has no database migrations" in doctor.stdout


def pipx_command() -> str | None:
    """pipx on PATH or in the venv running the tests."""
    return shutil.which("pipx") or shutil.which("pipx", path=str(Path(sys.executable).parent))


def test_pipx_install_gives_the_demo_of_the_source_tree(wheel, source_demo, tmp_path):
    pipx = pipx_command()
    if pipx is None:
        reason = "pipx is not installed (pip install -e '.[test]' installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    env = {**user_env(tmp_path), "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin"),
           "PIPX_MAN_DIR": str(tmp_path / "man")}
    ok(run([pipx], "install", str(wheel), cwd=tmp_path, env=env, timeout=900))
    copy_samples(tmp_path)
    shown = demo((str(tmp_path / "bin" / "caltac-inbox"),), f"sqlite:///{tmp_path / 'demo.db'}", tmp_path, env)
    assert shown.upcoming == source_demo.upcoming
    assert without_stamps(shown.ics) == without_stamps(source_demo.ics)
