"""CI's slice of CPython's own asyncio test suite on gmploop's loop.

tests/asyncio_conformance/run_cpython_suite.py runs ``test.test_asyncio`` with
gmploop's loop installed as the policy's loop (full run: docs/asyncio.md).
Here its FAST subset (about 320 tests that run on the loop, ~15 s per loop)
runs on gmploop's loop and on uvloop's loop under the same stdlib policy, and
gmploop must pass every test uvloop passes. The failures both share are
uvloop's transports and internals, listed and explained in docs/asyncio.md.
"""

import importlib.util
import os

import pytest

pytest.importorskip("test.test_asyncio", reason="CPython's test package is not installed")
pytest.importorskip("uvloop")

HERE = os.path.dirname(os.path.abspath(__file__))


def _runner():
    path = os.path.join(HERE, "asyncio_conformance", "run_cpython_suite.py")
    spec = importlib.util.spec_from_file_location("run_cpython_suite", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.timeout(300)
def test_cpython_asyncio_fast_subset_gmploop_vs_uvloop():
    r = _runner()
    results = r.run_plan(["gmploop", "uvloop-loop"], r.fast_plan(), test_timeout=60,
                         module_timeout=240, exclude=r.FAST_EXCLUDE)
    summary = r.summarize(results)
    g = summary["loops"]["gmploop"]
    u = summary["loops"]["uvloop-loop"]
    assert g["on_loop_tests"] >= 300, g  # the subset really ran on gmploop's loops
    # A test that failed on gmploop but passed on uvloop is run again, alone,
    # on gmploop (as CPython's regrtest re-runs failures with -w): some of
    # the suite's subprocess tests fail now and then on a loaded machine. One
    # that fails again is a real difference.
    worse = []
    recovered = 0
    for tid in summary["gmploop_worse_than_uvloop_loop"]:
        mod = tid.split(".", 1)[0]
        again = r.run_plan(["gmploop"], [(mod, [tid])], test_timeout=60, module_timeout=120)
        if again["gmploop"].get(tid, {}).get("outcome") in ("pass", "xfail"):
            recovered += 1
        else:
            worse.append(tid)
    assert worse == []
    assert g["on_loop_passed"] + recovered >= u["on_loop_passed"]
    assert not any(x["outcome"] == "hang" for x in results["gmploop"].values())
