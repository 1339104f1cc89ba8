"""Fixtures of the fault suite: a misbehaving server, a healthy source beside it, a database,
and the report that `make docs` turns into docs/reliability.md."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from faults import report as report_mod
from faults.harness import CaseRun
from faults.server import FaultServer
from faults.site import HealthySource, add_healthy
from storage import Store

FAULTS_DIR = Path(__file__).resolve().parent
REPORT = report_mod.Report()
_state: dict[str, Any] = {"collected": set(), "deselected": False, "files": set()}


def _in_suite(path: Path) -> bool:
    return FAULTS_DIR in Path(path).resolve().parents


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for i, item in enumerate(items):
        if _in_suite(item.path):
            _state["collected"].add(item.nodeid)
            _state["files"].add(item.path.name)
            REPORT.order[item.nodeid] = i


def pytest_deselected(items: list[pytest.Item]) -> None:
    if any(_in_suite(i.path) for i in items):
        _state["deselected"] = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    rep = yield
    if _in_suite(item.path):
        if rep.failed:
            REPORT.finished(item.nodeid, "failed" if rep.when == "call" else "error")
        elif rep.when == "call" or rep.skipped:
            REPORT.finished(item.nodeid, rep.outcome)
    return rep


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the report to ``$NEWSMON_RELIABILITY_DOC`` (``make docs``: docs/reliability.md)
    when the whole suite ran (not a -k or file subset); without it, write nothing."""
    files = {p.name for p in FAULTS_DIR.glob("test_faults_*.py")}
    complete = (
        _state["collected"] and not _state["deselected"] and files <= _state["files"]
        and not any("::" in str(a) for a in session.config.args)
        and all(n in REPORT.outcomes for n in _state["collected"])
    )
    target = os.environ.get(report_mod.DOC_ENV)
    if complete and target:
        report_mod.write(REPORT, Path(target))


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``record(area, fault, happened, case=..., source=..., healthy=...)`` adds this test's
    row to the report; with ``case`` the status, first error and counts come from the run."""
    nodeid = request.node.nodeid

    def add(area: str, fault: str, happened: str, *, case: CaseRun | None = None,
            source: str | None = None, healthy: HealthySource | None = None,
            status: str = "", first_error: str = "", stored: str = "") -> None:
        row = report_mod.Row(area, fault, happened, status, first_error, stored)
        if case is not None and source is not None:
            run = case.runs.get(source)
            row.status = run.status if run is not None else "(no run recorded)"
            row.first_error = (run.first_error or "") if run is not None else ""
            dropped = case.dropped(source) if source in case.results else (
                run.dropped if run is not None else 0)
            row.stored = f"{case.stored(source)} / {dropped}"
        if case is not None and healthy is not None:
            row.healthy = f"{case.stored(healthy.name)}/{len(healthy.titles)}"
        REPORT.add(nodeid, row)
    return add


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def healthy(server: FaultServer) -> HealthySource:
    return add_healthy(server)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsmon.db'}"


@pytest.fixture
def fstore(sqlite_url: str) -> Iterator[Store]:
    s = Store.from_url(sqlite_url)
    yield s
    s.close()
