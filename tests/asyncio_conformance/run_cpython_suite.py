"""Run CPython's own asyncio test suite (``test.test_asyncio``) on gmploop's
event loop and on uvloop's, measured the same way, and compare.

How a loop is "installed": the runner replaces ``asyncio.DefaultEventLoopPolicy``
with a counting subclass of the loop's policy (``gmploop.GMPPolicy`` or
``uvloop.EventLoopPolicy``) and resets the policy, so every loop the suite makes
through the policy (``asyncio.new_event_loop()``, ``asyncio.run()``,
``asyncio.Runner()``, ``policy.new_event_loop()``, and the suite's own
``set_event_loop_policy(None)`` resets) is the loop under test. Loops a test
builds explicitly (``asyncio.SelectorEventLoop()``, the suite's ``TestLoop``)
are not. A test *ran on the loop* when the counting policy created at least one
loop while it ran; the pass counts that matter are those tests'.

The suite's ``EventLoopTestsMixin`` and ``SubprocessTestsMixin`` (test_events),
which CPython runs only on its own selector loops, are also instantiated with
the loop under test (class ``LoopUnderTest_EventLoopTests``): the most thorough
black-box test of a loop's surface that CPython has.

Each module runs in its own child process. A test that hangs (``--test-timeout``)
is recorded as ``hang`` and the module resumes after it in a new child.

Usage::

    python tests/asyncio_conformance/run_cpython_suite.py            # both loops, all modules
    python tests/asyncio_conformance/run_cpython_suite.py --loops gmploop --fast
    python tests/asyncio_conformance/run_cpython_suite.py --out DIR  # summary.json, summary.md

``--fast`` runs the FAST subset (a few hundred tests, well under a minute),
which ``tests/test_asyncio_conformance.py`` runs in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))

#: Every module of test.test_asyncio that can run on Linux.
ALL_MODULES = [
    "test_base_events", "test_buffered_proto", "test_context", "test_events",
    "test_futures", "test_futures2", "test_locks", "test_pep492", "test_protocols",
    "test_queues", "test_runners", "test_selector_events", "test_sendfile",
    "test_server", "test_sock_lowlevel", "test_ssl", "test_sslproto", "test_streams",
    "test_subprocess", "test_taskgroups", "test_tasks", "test_threads",
    "test_timeouts", "test_transports", "test_unix_events", "test_waitfor",
]

#: The CI subset: modules (or module.Class) whose tests mostly run on the loop
#: under test and finish fast; about 320 tests on the loop, ~15 s per loop.
FAST = [
    "test_events.LoopUnderTest_EventLoopTests",
    "test_locks",
    "test_queues",
    "test_timeouts",
    "test_waitfor",
    "test_streams",
    "test_threads",
    "test_futures2",
    "test_context",
    "test_sslproto",
]

#: Left out of the CI subset (docs/asyncio.md explains each): the first two
#: wait out the suite's own 30 s timeout on uvloop; the third depends on two
#: timers with the same deadline firing in order, which uvloop's millisecond
#: clock breaks now and then (on uvloop and so on gmploop's loop).
FAST_EXCLUDE = [
    "test_events.LoopUnderTest_EventLoopTests.test_bidirectional_pty",
    "test_events.LoopUnderTest_EventLoopTests.test_add_signal_handler",
    "test_timeouts.TimeoutTests.test_nested_timeouts",
]

#: gmploop: GMPPolicy (a DefaultEventLoopPolicy whose loops are GMPEventLoops).
#: uvloop: uvloop.EventLoopPolicy, as uvloop's users install it; it has no
#:   child watchers, so the suite's watcher tests error on it in setUp.
#: uvloop-loop: the stdlib DefaultEventLoopPolicy making uvloop.Loop loops: the
#:   same policy as gmploop's, so gmploop vs uvloop-loop compares the loops alone.
#: asyncio: the stdlib policy and loop (the oracle).
LOOPS = ("gmploop", "uvloop", "uvloop-loop", "asyncio")


# --------------------------------------------------------------------------
# Child: run one module's tests on one loop, one JSON line per event
# --------------------------------------------------------------------------


def _install(loop_name: str, procs: int | None):
    """Make the loop under test the policy's loop; return the creation counter."""
    import asyncio

    created = [0]
    if loop_name == "gmploop":
        import gmploop

        class CountingPolicy(gmploop.GMPPolicy):
            def __init__(self) -> None:
                super().__init__(procs)

            def new_event_loop(self):
                created[0] += 1
                return super().new_event_loop()
    elif loop_name == "uvloop-loop":
        import uvloop

        class CountingPolicy(asyncio.DefaultEventLoopPolicy):  # type: ignore[no-redef]
            _loop_factory = uvloop.Loop

            def new_event_loop(self):
                created[0] += 1
                return super().new_event_loop()
    elif loop_name == "uvloop":
        import uvloop

        class CountingPolicy(uvloop.EventLoopPolicy):  # type: ignore[no-redef]
            def new_event_loop(self):
                created[0] += 1
                return super().new_event_loop()
    else:
        class CountingPolicy(asyncio.DefaultEventLoopPolicy):  # type: ignore[no-redef]
            def new_event_loop(self):
                created[0] += 1
                return super().new_event_loop()

    asyncio.DefaultEventLoopPolicy = CountingPolicy  # the suite's resets land here
    asyncio.events.DefaultEventLoopPolicy = CountingPolicy
    asyncio.set_event_loop_policy(None)
    return created


def _harness_fixes() -> None:
    """Make the suite's own scaffolding loop-neutral; the same for every loop.

    1. ``test_utils.TestCase.close_loop`` reads the stdlib loop's private
       ``loop._default_executor``; uvloop's loop (so gmploop's) has no such
       attribute, and every test using the helper then errors in teardown and
       leaks its loop. Replaced by the public equivalent,
       ``loop.shutdown_default_executor()``, where the attribute is missing.
    2. The suite expects regrtest's temporary working directory (``TESTFN``
       files are relative): the child runs in a fresh temporary directory.
    """
    from test.test_asyncio import utils as test_utils

    orig = test_utils.TestCase.close_loop

    def close_loop(loop):
        if hasattr(loop, "_default_executor"):
            return orig(loop)
        if not loop.is_closed():
            loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    test_utils.TestCase.close_loop = staticmethod(close_loop)


def _extra_classes(mod):
    """test_events' loop mixins, instantiated with the loop under test."""
    import asyncio
    import unittest

    from test.test_asyncio import utils as test_utils

    class LoopUnderTest_EventLoopTests(mod.EventLoopTestsMixin,  # noqa: N801
                                       mod.SubprocessTestsMixin,
                                       test_utils.TestCase):
        def create_event_loop(self):
            return asyncio.get_event_loop_policy().new_event_loop()

    LoopUnderTest_EventLoopTests.__module__ = mod.__name__
    LoopUnderTest_EventLoopTests.__qualname__ = "LoopUnderTest_EventLoopTests"
    return unittest.defaultTestLoader.loadTestsFromTestCase(LoopUnderTest_EventLoopTests)


def _iter_tests(suite):
    import unittest
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _iter_tests(t)
        else:
            yield t


def _short_id(test) -> str:
    tid = test.id()
    return tid[len("test.test_asyncio."):] if tid.startswith("test.test_asyncio.") else tid


def child(args) -> int:
    import faulthandler
    import unittest
    import warnings

    warnings.simplefilter("default")
    import atexit
    import shutil
    cwd = tempfile.mkdtemp(prefix="cpy-asyncio-cwd-")
    os.chdir(cwd)
    atexit.register(shutil.rmtree, cwd, True)
    created = _install(args.loop, args.procs)
    _harness_fixes()
    import importlib
    mod = importlib.import_module("test.test_asyncio." + args.module)
    suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
    tests = list(_iter_tests(suite))
    if args.module == "test_events":
        tests += list(_iter_tests(_extra_classes(mod)))
    skip = set(args.skip or ())
    only = args.only or None
    out = open(args.results, "a", buffering=1)

    class Result(unittest.TestResult):
        def startTest(self, test):
            super().startTest(test)
            self._outcome_set = None
            self._err = ""
            self._created0 = created[0]
            self._t0 = time.monotonic()
            out.write(json.dumps({"ev": "start", "id": _short_id(test)}) + "\n")
            faulthandler.dump_traceback_later(args.test_timeout, exit=True, file=sys.stderr)

        def _set(self, outcome, err=None):
            if self._outcome_set in ("fail", "error"):
                return  # keep the first failure (a subtest, or teardown after failure)
            self._outcome_set = outcome
            if err is not None:
                self._err = self._exc_info_to_string(err, self._test)[-1500:]

        def addSuccess(self, test):
            self._test = test
            self._set(self._outcome_set or "pass")

        def addFailure(self, test, err):
            self._test = test
            self._set("fail", err)

        def addError(self, test, err):
            if not isinstance(test, unittest.TestCase):  # setUpClass & co failed
                out.write(json.dumps({
                    "ev": "end", "id": str(test), "outcome": "error", "on_loop": False,
                    "err": self._exc_info_to_string(err, test)[-1500:], "dt": 0}) + "\n")
                return
            self._test = test
            self._set("error", err)

        def addSkip(self, test, reason):
            self._set("skip")
            self._err = str(reason)[:300]

        def addExpectedFailure(self, test, err):
            self._set("xfail")

        def addUnexpectedSuccess(self, test):
            self._set("xpass")

        def addSubTest(self, test, subtest, err):
            if err is not None:
                self._test = test
                failed = issubclass(err[0], test.failureException)
                self._set("fail" if failed else "error", err)

        def stopTest(self, test):
            faulthandler.cancel_dump_traceback_later()
            super().stopTest(test)
            out.write(json.dumps({
                "ev": "end", "id": _short_id(test),
                "outcome": self._outcome_set or "pass",
                "on_loop": created[0] > self._created0,
                "err": self._err, "dt": round(time.monotonic() - self._t0, 3),
            }) + "\n")

    result = Result()
    selected = []
    for t in tests:
        tid = _short_id(t)
        if tid in skip:
            continue
        if only is not None and not any(tid == p or tid.startswith(p + ".") for p in only):
            continue
        selected.append(t)
    # A suite, not test by test: it runs setUpClass/setUpModule and their teardowns.
    unittest.TestSuite(selected).run(result)
    out.close()
    return 0


# --------------------------------------------------------------------------
# Parent: run modules in children, resume after hangs, summarize
# --------------------------------------------------------------------------


def _read_events(path: str):
    starts, ends = [], {}
    if not os.path.exists(path):
        return starts, ends
    with open(path) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            if ev["ev"] == "start":
                starts.append(ev["id"])
            else:
                ends[ev["id"]] = ev
    return starts, ends


def run_module(loop: str, module: str, only, procs, test_timeout: float,
               module_timeout: float, verbose: bool, exclude=()) -> dict:
    """Run one module on one loop; return {test id: record}."""
    records: dict = {}
    exclude = [t for t in exclude if t.startswith(module + ".")]
    skip: list = list(exclude)
    fd, path = tempfile.mkstemp(prefix=f"cpy-{loop}-{module}-", suffix=".jsonl")
    os.close(fd)
    try:
        for _attempt in range(50):
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--loop", loop,
                   "--module", module, "--results", path,
                   "--test-timeout", str(test_timeout)]
            if procs is not None:
                cmd += ["--procs", str(procs)]
            for s in skip:
                cmd += ["--skip", s]
            for o in only or ():
                cmd += ["--only", o]
            env = dict(os.environ)
            env.setdefault("PYTHONHASHSEED", "0")
            try:
                cp = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    timeout=module_timeout, env=env, cwd=HERE)
                tail = cp.stdout.decode(errors="replace")[-3000:]
                rc = cp.returncode
            except subprocess.TimeoutExpired as e:
                tail = (e.stdout or b"").decode(errors="replace")[-3000:]
                rc = "timeout"
            starts, ends = _read_events(path)
            records.update(ends)
            unfinished = [s for s in starts if s not in ends and s not in records]
            if rc == 0 and not unfinished:
                break
            if not unfinished:
                # Died before starting a test (import error) or after the last.
                records[f"{module}.<module>"] = {
                    "id": f"{module}.<module>", "outcome": "error", "on_loop": False,
                    "err": f"child exited {rc}:\n{tail}"}
                break
            hung = unfinished[-1]
            records[hung] = {"id": hung, "outcome": "hang", "on_loop": True,
                             "err": f"child exited {rc} during this test:\n{tail}"}
            skip = list(records) + exclude
            if verbose:
                print(f"    {loop} {module}: {hung} hung/crashed ({rc}); resuming",
                      file=sys.stderr)
    finally:
        os.unlink(path)
    return records


def summarize(results: dict) -> dict:
    """results: {loop: {test id: record}} -> summary dict."""
    summary: dict = {"loops": {}}
    for loop, recs in results.items():
        all_c = Counter(r["outcome"] for r in recs.values())
        on = [r for r in recs.values() if r["on_loop"]]
        on_c = Counter(r["outcome"] for r in on)
        summary["loops"][loop] = {
            "tests": len(recs), "outcomes": dict(all_c),
            "on_loop_tests": len(on), "on_loop_outcomes": dict(on_c),
            "on_loop_passed": on_c.get("pass", 0) + on_c.get("xfail", 0),
            "on_loop_failed": sorted(r["id"] for r in on
                                     if r["outcome"] in ("fail", "error", "hang", "xpass")),
            "failed": sorted(r["id"] for r in recs.values()
                             if r["outcome"] in ("fail", "error", "hang", "xpass")),
        }
    bad = ("fail", "error", "hang", "xpass")
    for other in ("uvloop", "uvloop-loop", "asyncio"):
        if "gmploop" in results and other in results:
            g, u = results["gmploop"], results[other]
            key = other.replace("-", "_")
            summary[f"gmploop_worse_than_{key}"] = sorted(
                t for t in g if g[t]["outcome"] in bad and t in u and u[t]["outcome"] not in bad)
            summary[f"gmploop_better_than_{key}"] = sorted(
                t for t in g if g[t]["outcome"] not in bad and t in u and u[t]["outcome"] in bad)
    return summary


def markdown(summary: dict, results: dict, meta: dict) -> str:
    lines = ["# CPython test.test_asyncio on gmploop's loop vs uvloop", "",
             f"Python {meta['python']}, {meta['when']}, procs={meta['procs']}, "
             f"modules: {meta['modules']}", "",
             "| loop | tests run | ran on the loop | passed (on loop) | failed (on loop) "
             "| passed (all) | failed (all) | skipped |",
             "|---|---|---|---|---|---|---|---|"]
    bad = ("fail", "error", "hang", "xpass")
    for loop, s in summary["loops"].items():
        oc = s["outcomes"]
        lines.append(
            f"| {loop} | {s['tests']} | {s['on_loop_tests']} | {s['on_loop_passed']} | "
            f"{len(s['on_loop_failed'])} | {oc.get('pass', 0) + oc.get('xfail', 0)} | "
            f"{sum(oc.get(k, 0) for k in bad)} | {oc.get('skip', 0)} |")
    for key in sorted(k for k in summary if k.startswith("gmploop_")):
        lines += ["", f"## {key.replace('_', ' ')} ({len(summary[key])})", ""]
        lines += [f"- `{t}`" for t in summary[key]]
    for loop, recs in results.items():
        fails = [r for r in recs.values() if r["outcome"] in bad]
        lines += ["", f"## failures on {loop} ({len(fails)})", ""]
        for r in sorted(fails, key=lambda r: r["id"]):
            last = [ln for ln in r["err"].strip().splitlines() if ln.strip()]
            why = last[-1][:200] if last else ""
            tag = "" if r["on_loop"] else " (not on the loop)"
            lines.append(f"- `{r['id']}` {r['outcome']}{tag}: {why}")
    return "\n".join(lines) + "\n"


def fast_plan() -> list:
    """[(module, only-prefixes or None)] for the FAST subset."""
    selection: dict = {}
    for item in FAST:
        mod, _, rest = item.partition(".")
        selection.setdefault(mod, []).append(item if rest else None)
    return [(m, None if None in v else v) for m, v in selection.items()]


def run_plan(loops, plan, procs=None, test_timeout=60.0, module_timeout=900.0,
             exclude=(), verbose=False) -> dict:
    """Run ``plan`` on each loop: {loop: {test id: record}}."""
    results: dict = {}
    for loop in loops:
        recs: dict = {}
        for mod, only in plan:
            t1 = time.monotonic()
            r = run_module(loop, mod, only, procs, test_timeout, module_timeout, verbose,
                           exclude=exclude)
            recs.update(r)
            if verbose:
                c = Counter(x["outcome"] for x in r.values())
                on = sum(1 for x in r.values() if x["on_loop"])
                print(f"  {loop:8s} {mod:22s} {time.monotonic() - t1:6.1f}s "
                      f"on-loop={on:4d} {dict(c)}", file=sys.stderr)
        results[loop] = recs
    return results


def parent(args) -> int:
    loops = args.loops.split(",")
    for lp in loops:
        if lp not in LOOPS:
            raise SystemExit(f"--loops: unknown loop {lp!r} (choose from {LOOPS})")
    if args.fast:
        plan = fast_plan()
    else:
        mods = args.modules.split(",") if args.modules else ALL_MODULES
        plan = [(m, None) for m in mods]
    t0 = time.monotonic()
    results = run_plan(loops, plan, args.procs, args.test_timeout, args.module_timeout,
                       FAST_EXCLUDE if args.fast else (), args.verbose)
    summary = summarize(results)
    meta = {"python": sys.version.split()[0], "when": time.strftime("%Y-%m-%d %H:%M"),
            "procs": args.procs, "modules": "FAST subset" if args.fast else
            (args.modules or "all"), "seconds": round(time.monotonic() - t0, 1)}
    summary["meta"] = meta
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "summary.json"), "w") as f:
            json.dump({"summary": summary, "results": results}, f, indent=1, sort_keys=True)
        with open(os.path.join(args.out, "summary.md"), "w") as f:
            f.write(markdown(summary, results, meta))
    for loop, s in summary["loops"].items():
        print(f"{loop:8s}: {s['tests']} tests, {s['on_loop_tests']} on the loop: "
              f"{s['on_loop_passed']} passed, {len(s['on_loop_failed'])} failed; "
              f"all: {s['outcomes']}")
    for key in sorted(k for k in summary if k.startswith("gmploop_worse")):
        w = summary[key]
        other = key[len("gmploop_worse_than_"):]
        print(f"gmploop fails where {other} passes: {len(w)}" + "".join(f"\n  {t}" for t in w))
    if args.json:
        print(json.dumps(summary))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loops", default="gmploop,uvloop,uvloop-loop",
                    help="comma-separated: " + ", ".join(LOOPS))
    ap.add_argument("--modules", default=None, help="comma-separated test modules")
    ap.add_argument("--fast", action="store_true", help="the CI subset only")
    ap.add_argument("--procs", type=int, default=None, help="gmploop processors")
    ap.add_argument("--test-timeout", type=float, default=60.0)
    ap.add_argument("--module-timeout", type=float, default=900.0)
    ap.add_argument("--out", default=None, help="directory for summary.json/.md")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("-v", "--verbose", action="store_true")
    # child mode
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--loop", help=argparse.SUPPRESS)
    ap.add_argument("--module", help=argparse.SUPPRESS)
    ap.add_argument("--results", help=argparse.SUPPRESS)
    ap.add_argument("--skip", action="append", help=argparse.SUPPRESS)
    ap.add_argument("--only", action="append", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
