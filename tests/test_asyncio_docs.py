"""docs/asyncio.md is tested: every plain Python snippet is a complete program
and runs (in its own process: they install policies and start runtimes), and
the snippets marked ``<!-- file: PROJECT/NAME -->`` make small pytest-asyncio
projects whose own test runs (in a separate pytest process) must pass."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "asyncio.md"
BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\s*\n)?```(?P<lang>\w+)\n(?P<code>.*?)```",
                   re.S)


def _blocks():
    return [(m.group("file"), m.group("lang"), m.group("code"))
            for m in BLOCK.finditer(DOC.read_text())]


def _programs():
    return [code for f, lang, code in _blocks() if f is None and lang == "python"]


def _projects():
    projects: dict = {}
    for f, _lang, code in _blocks():
        if f is not None:
            project, _, name = f.partition("/")
            projects.setdefault(project, {})[name] = code
    return projects


def test_doc_has_what_this_file_tests():
    assert len(_programs()) >= 2
    assert set(_projects()) == {"hook-project", "policy-project"}


@pytest.mark.parametrize("index", range(len(_programs())))
def test_doc_program_runs(index, tmp_path):
    path = tmp_path / f"snippet{index}.py"
    path.write_text(_programs()[index])
    cp = subprocess.run([sys.executable, "-W", "error", str(path)], capture_output=True,
                        text=True, timeout=120, cwd=tmp_path)
    assert cp.returncode == 0, cp.stderr[-3000:]
    assert cp.stdout.strip()


@pytest.mark.parametrize("project", sorted(_projects()))
def test_doc_pytest_asyncio_project_passes(project, tmp_path):
    pytest.importorskip("pytest_asyncio")
    root = tmp_path / project
    root.mkdir()
    for name, code in _projects()[project].items():
        (root / name).write_text(code)
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    cp = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                        capture_output=True, text=True, timeout=120, cwd=root, env=env)
    out = cp.stdout + cp.stderr
    if project == "hook-project" and "loop_factories" in out and "unknown" in out.lower():
        pytest.skip("this pytest-asyncio has no loop factory hook (needs >= 1.4)")
    assert cp.returncode == 0, out[-3000:]
    counts = re.search(r"(\d+) passed", out)
    expected = 3 if project == "hook-project" else 1  # hook: 2 factories + 1 selected
    assert counts and int(counts.group(1)) == expected, out[-2000:]
