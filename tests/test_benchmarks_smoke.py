"""Smoke tests for benchmarks/: every workload runs at a tiny size on gmploop
and returns the right answer (skynet's sum, every message received once).
Correctness only: speed targets live in the benchmark report, never here."""

import importlib.util
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", os.path.join(BENCH, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    sys.path.insert(0, BENCH)
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(BENCH)
    return mod


bench = _load("bench_core")
common = bench.C

TINY = [
    ("fanout", {"n": 50}),
    ("pingpong", {"n": 200}),
    ("contended", {"p": 5, "m": 50}),
    ("skynet", {"size": 1000}),
    ("memory", {"kind": "parked", "n": 200}),
    ("memory", {"kind": "unstarted", "n": 200}),
    ("steal", {"g": 4, "k": 2, "d": 0.001}),
]


@pytest.mark.parametrize("workload,params", TINY,
                         ids=[f"{w}-{'-'.join(map(str, p.values()))}" for w, p in TINY])
def test_gmploop_workload_correct(workload, params, procs):
    value, check = bench.IMPLS["gmploop"][workload](procs=procs, **params)
    assert check == bench.expected(workload, params)
    assert isinstance(value, float)
    if workload != "memory":  # an RSS delta may be <= 0 at tiny N
        assert value > 0


def test_expected_values_match_the_classic_programs():
    assert bench.expected("skynet", {"size": 1_000_000}) == 499999500000
    assert bench.expected("fanout", {"n": 100_000}) == 100_000
    assert bench.expected("contended", {"p": 100, "m": 1000}) == 100 * 499500
    assert bench.ops("contended", {"p": 100, "m": 1000}) == 100_000


def test_every_workload_has_a_gmploop_implementation_and_a_case():
    for w in bench.WORKLOADS:
        assert w.name in bench.IMPLS["gmploop"]
        assert w.cases and w.quick
        for _, params in w.cases + w.quick:
            bench.expected(w.name, params)  # raises on an unknown workload


def test_threads_skipped_at_100k_and_go_without_go():
    fan = bench.WL["fanout"]
    assert bench.skip_reason(fan, {"n": 100_000}, "threads", True).startswith("skipped")
    assert bench.skip_reason(fan, {"n": 1000}, "threads", True) is None
    # ping-pong's n counts round trips between two threads, not threads
    assert bench.skip_reason(bench.WL["pingpong"], {"n": 100_000}, "threads", True) is None
    assert bench.skip_reason(fan, {"n": 1000}, "go p=1", False) == "go not on PATH"
    assert bench.skip_reason(fan, {"n": 1000}, "go p=1", True) is None


def test_ratio_wording():
    assert common.ratio_text(1.0, 3.1, "uvloop") == "3.1x faster than uvloop"
    assert common.ratio_text(2.0, 1.0, "gevent") == "2.0x slower than gevent"
    assert common.ratio_text(None, 1.0, "x") == "n/a vs x"
    assert common.median([3.0, 1.0, 2.0]) == 2.0


def test_svg_chart_is_well_formed_xml():
    svg = common.svg_bar_chart(["a", "b"], ["s1", "s2"],
                               lambda g, s: None if (g, s) == ("b", "s2") else 2.0,
                               "title <&>", "y")
    root = ET.fromstring(svg)
    rects = [e for e in root.iter() if e.tag.endswith("rect")]
    assert len(rects) == 1 + 3 + 2  # background, three bars, two legend boxes


def test_cli_end_to_end(tmp_path):
    """The harness itself: fresh worker processes, JSON, markdown and SVG."""
    out_json, out_md = tmp_path / "b.json", tmp_path / "b.md"
    cp = subprocess.run(
        [sys.executable, os.path.join(BENCH, "bench_core.py"), "--quick", "--reps", "1",
         "--only", "pingpong,skynet", "--skynet-size", "100",
         "--systems", "gmploop p=1,gmploop p=2", "--json", str(out_json),
         "--markdown", str(out_md)],
        capture_output=True, text=True, timeout=100)
    assert cp.returncode == 0, cp.stderr
    data = json.loads(out_json.read_text())
    cells = {(r["workload"], r["column"]): r for r in data["results"]}
    for key in [("pingpong", "gmploop p=1"), ("pingpong", "gmploop p=2"),
                ("skynet", "gmploop p=1"), ("skynet", "gmploop p=2")]:
        assert cells[key]["ok"] is True, cells[key]
        assert cells[key]["checks"] == [cells[key]["expected"]]
    assert cells[("skynet", "gmploop p=1")]["expected"] == 4950
    md = out_md.read_text()
    assert "## Machine" in md and "skynet: correct sum" in md
    ET.fromstring((tmp_path / "b.svg").read_text())
    # --render rebuilds the same report from the JSON without measuring
    again = tmp_path / "again.md"
    cp = subprocess.run(
        [sys.executable, os.path.join(BENCH, "bench_core.py"), "--render", str(out_json),
         "--markdown", str(again)], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert again.read_text() == md.replace("(b.svg)", "(again.svg)")
