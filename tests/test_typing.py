"""Typing (issue 10, item 8): ``mypy --strict`` passes on ``gmploop/`` and on
``tests/typing/check_ok.py`` (which pins result types with ``assert_type``),
and rejects the typical mistakes of ``tests/typing/check_misuse.py``, each
marked on its line with ``# E: <code>[, <code>...]``: mypy must report
exactly those codes on exactly those lines, and nothing else.

One mypy run (a subprocess, with the project's ``[tool.mypy]`` config and its
default cache, ``.mypy_cache/``) checks all three; the tests read its report.
The generics must also subscript at run time, and the package ships
``py.typed``.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
from collections import defaultdict

import pytest

import gmploop
from gmploop import Chan, Goroutine, Recv, Send

ROOT = pathlib.Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"
OK = TYPING / "check_ok.py"
MISUSE = TYPING / "check_misuse.py"

_ERROR = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): error: (?P<msg>.*?)  \[(?P<code>[\w-]+)\]$")
_MARK = re.compile(r"#\s*E:\s*(?P<codes>[\w-]+(?:\s*,\s*[\w-]+)*)\s*$")


class Report:
    def __init__(self, output: str, rc: int) -> None:
        self.output = output
        self.rc = rc
        # path (relative to ROOT, posix) -> [(line, code, message)]
        self.errors: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for raw in output.splitlines():
            m = _ERROR.match(raw.strip())
            if m is None:
                continue
            path = pathlib.Path(m["path"])
            if path.is_absolute():
                path = path.relative_to(ROOT)
            self.errors[path.as_posix()].append((int(m["line"]), m["code"], m["msg"]))

    def under(self, prefix: str) -> list[str]:
        return [f"{p}:{line}: {msg}  [{code}]" for p, errs in sorted(self.errors.items())
                if p.startswith(prefix) for line, code, msg in errs]


@pytest.fixture(scope="module")
def report() -> Report:
    try:
        import mypy  # noqa: F401
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.fail("mypy is not installed: pip install -e '.[test]'")
    cmd = [sys.executable, "-m", "mypy", "--strict", "--no-pretty", "--no-color-output",
           "--show-error-codes", "--no-error-summary",
           "gmploop", OK.relative_to(ROOT).as_posix(), MISUSE.relative_to(ROOT).as_posix()]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    # 0: no errors, 1: errors (check_misuse.py has them); anything else is a crash.
    assert r.returncode in (0, 1), out
    return Report(out, r.returncode)


def test_package_passes_mypy_strict(report: Report) -> None:
    errors = report.under("gmploop/")
    assert not errors, "\n".join(errors)


def test_typical_use_is_accepted_with_the_pinned_types(report: Report) -> None:
    errors = report.under("tests/typing/check_ok.py")
    assert not errors, "\n".join(errors)


def expected_misuse() -> set[tuple[int, str]]:
    want = set()
    for n, text in enumerate(MISUSE.read_text().splitlines(), 1):
        m = _MARK.search(text)
        if m is not None:
            want.update((n, c.strip()) for c in m["codes"].split(","))
    return want


def test_misuse_is_rejected_line_by_line(report: Report) -> None:
    want = expected_misuse()
    assert len({line for line, _ in want}) >= 30  # the marks were found
    got = {(line, code) for line, code, _ in report.errors["tests/typing/check_misuse.py"]}
    msgs = {(line, code): msg for line, code, msg in report.errors["tests/typing/check_misuse.py"]}
    missing = sorted(want - got)
    extra = sorted(got - want)
    assert not missing and not extra, (
        "check_misuse.py: mypy's errors differ from the '# E:' marks\n"
        + "".join(f"  not reported: line {line} [{code}]\n" for line, code in missing)
        + "".join(f"  unexpected: line {line}: {msgs[(line, code)]} [{code}]\n"
                  for line, code in extra))


def test_every_misuse_line_is_reported_by_some_error(report: Report) -> None:
    # No marked line may pass silently, even where a later mypy changes codes.
    lines = {line for line, _ in expected_misuse()}
    reported = {line for line, _, _ in report.errors["tests/typing/check_misuse.py"]}
    assert lines <= reported, sorted(lines - reported)


def test_generics_subscript_at_run_time() -> None:
    for cls in (Chan, Recv, Send, Goroutine):
        alias = cls[int]
        assert alias.__origin__ is cls
        assert alias.__args__ == (int,)
    ch = Chan[int](2)
    assert type(ch) is Chan
    ch.send(1)
    assert ch.recv() == 1
    assert type(Recv[int](ch)) is Recv
    assert type(Send[int](ch, 3)) is Send
    assert Chan[str]().cap == 0


def test_package_ships_py_typed() -> None:
    pkg = pathlib.Path(gmploop.__file__).parent
    assert (pkg / "py.typed").is_file()
    import tomllib
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in meta["tool"]["setuptools"]["package-data"]["gmploop"]
    assert any(d.startswith("mypy") for d in meta["project"]["optional-dependencies"]["test"])
