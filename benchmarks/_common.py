"""Shared helpers for gmploop's benchmarks: timing, medians, machine facts,
fresh-subprocess workers, ratio wording, text/markdown tables and a
dependency-free SVG bar chart.

Nothing here imports gmploop or any peer runtime: the parent process of a
benchmark run stays clean, and every measurement happens in a fresh
subprocess (see ``run_worker``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from html import escape as _esc
from typing import Any, Callable, Iterable, Sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------

now = time.perf_counter


def median(xs: Sequence[float]) -> float:
    """Median of a non-empty sequence (the figure every table reports)."""
    if not xs:
        raise ValueError("median of no values")
    return statistics.median(xs)


def rss_bytes() -> int:
    """This process's resident set size, from /proc/self/status (VmRSS)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


# --------------------------------------------------------------------------
# fresh-subprocess workers
# --------------------------------------------------------------------------


def emit(result: dict) -> None:
    """A worker's last act: print its result as one JSON line and leave at
    once, without interpreter teardown (abandoned goroutines, 100k parked
    tasks and 1M-node trees would otherwise be unwound for nothing)."""
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_worker(cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run one worker command in a fresh process; return its RESULT dict, or
    ``{"error": "..."}`` when it failed, timed out or printed no result."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                            env=full_env, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    except OSError as e:
        return {"error": f"could not start: {e}"}
    for line in reversed(cp.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (cp.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {cp.returncode}: {tail[:200]}"}


# --------------------------------------------------------------------------
# machine facts
# --------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _version(mod: str) -> str:
    try:
        from importlib.metadata import version
        return version(mod)
    except Exception:  # noqa: BLE001 - not installed
        return "not installed"


def go_binary() -> str | None:
    """Path of ``go`` when it is on PATH (the Go column runs only then)."""
    return shutil.which("go")


def machine_facts() -> dict[str, Any]:
    """What a reader needs to judge the numbers: date, CPU, memory, load,
    interpreter and the version of every runtime compared."""
    cpuinfo = _read("/proc/cpuinfo")
    model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines()
                  if ln.startswith("model name")), platform.processor() or "unknown")
    mem = "unknown"
    for ln in _read("/proc/meminfo").splitlines():
        if ln.startswith("MemTotal"):
            mem = f"{int(ln.split()[1]) / 1024 / 1024:.1f} GiB"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "gmploop"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if dirty:
            commit += " (gmploop/ has uncommitted changes)"
    except Exception:  # noqa: BLE001
        commit = "unknown"
    go = go_binary()
    go_version = "not on PATH"
    if go:
        try:
            go_version = subprocess.run([go, "version"], capture_output=True, text=True,
                                        timeout=30).stdout.strip()
        except Exception:  # noqa: BLE001
            go_version = "unusable"
    gil = "n/a"
    if hasattr(sys, "_is_gil_enabled"):
        gil = "enabled" if sys._is_gil_enabled() else "disabled"
    else:
        gil = "enabled (GIL build)"
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "gil": gil,
        "gmploop": f"{_version('gmploop')} @ {commit}",
        "greenlet": _version("greenlet"),
        "uvloop": _version("uvloop"),
        "gevent": _version("gevent"),
        "go": go_version,
        "loadavg_start": _read("/proc/loadavg").split()[:3],
    }


def loadavg() -> list[str]:
    return _read("/proc/loadavg").split()[:3]


# --------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------


def fmt_value(v: float | None, unit: str) -> str:
    """One table cell: ns for per-op times, s for totals, KiB for memory."""
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.2f} s" if v >= 1 else f"{v:.3f} s"
    if unit == "B":
        return f"{v / 1024:.2f} KiB"
    if v >= 10_000:
        return f"{v / 1000:,.1f} µs"
    return f"{v:,.0f} ns"


def speed_ratio(gmp: float, peer: float) -> float:
    """How many times faster gmploop is than the peer (time or bytes; > 1
    means gmploop needs less)."""
    return peer / gmp


def ratio_text(gmp: float | None, peer: float | None, peer_name: str,
               better: str = "faster", worse: str = "slower") -> str:
    """'3.1x faster than uvloop' / '1.4x slower than gevent'."""
    if gmp is None or peer is None or gmp <= 0 or peer <= 0:
        return f"n/a vs {peer_name}"
    r = peer / gmp
    if r >= 1:
        return f"{r:.1f}x {better} than {peer_name}"
    return f"{1 / r:.1f}x {worse} than {peer_name}"


def text_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A plain fixed-width table for the terminal."""
    rows = [list(map(str, r)) for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                         for i, c in enumerate(cells))
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]],
                   numeric: bool = True) -> str:
    """A GitHub-flavoured markdown table: first column left, the others
    right-aligned (``numeric``) or left."""
    rows = [list(map(str, r)) for r in rows]
    other = "---:" if numeric else ":---"
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join([":---"] + [other] * (len(headers) - 1)) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


# --------------------------------------------------------------------------
# plot: a hand-written SVG grouped bar chart (no matplotlib needed)
# --------------------------------------------------------------------------

PALETTE = ["#1f77b4", "#aec7e8", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#7f7f7f"]


def svg_bar_chart(groups: Sequence[str], series: Sequence[str],
                  values: Callable[[str, str], float | None], title: str,
                  ylabel: str, baseline: float | None = 1.0) -> str:
    """Grouped vertical bars: one group per workload, one bar per system.

    ``values(group, series)`` gives the bar height (None: no bar, marked
    'n/a'). The y axis is logarithmic (base 2) when the values span more than
    8x, so a 10x-slower peer does not flatten the rest. ``baseline`` draws a
    dashed reference line (1.0 = as fast as gmploop).
    """
    import math
    data = {(g, s): values(g, s) for g in groups for s in series}
    present = [v for v in data.values() if v is not None and v > 0]
    if not present:
        present = [1.0]
    lo, hi = min(present + ([baseline] if baseline else [])), max(present)
    log = hi / max(lo, 1e-12) > 8
    if log:
        y0 = 2 ** math.floor(math.log2(lo))
        y1 = 2 ** math.ceil(math.log2(hi) + 1e-9)
        def scale(v: float) -> float:
            return (math.log2(v) - math.log2(y0)) / (math.log2(y1) - math.log2(y0))
        ticks = []
        t = y0
        while t <= y1 * 1.0001:
            ticks.append(t)
            t *= 2
    else:
        y0, y1 = 0.0, hi * 1.15
        def scale(v: float) -> float:
            return (v - y0) / (y1 - y0)
        step = 10 ** math.floor(math.log10(y1 / 4)) if y1 > 0 else 1
        for mult in (1, 2, 5, 10):
            if y1 / (step * mult) <= 6:
                step *= mult
                break
        ticks = [i * step for i in range(int(y1 / step) + 1)]

    left, right, top, bottom = 70, 20, 50, 100
    bar_w, gap = 18, 28
    plot_w = len(groups) * (len(series) * bar_w + gap) + gap
    legend_w = 130
    width = max(left + plot_w + right, left + 4 * legend_w + right)
    per_row = max(1, (width - left - right) // legend_w)
    legend_rows = (len(series) + per_row - 1) // per_row
    height = 380 + 18 * legend_rows
    plot_h = height - top - bottom - 18 * legend_rows
    def ypix(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, scale(v))))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2:.0f}" y="20" text-anchor="middle" font-size="14" '
           f'font-weight="bold">{_esc(title)}</text>',
           f'<text x="14" y="{top + plot_h / 2:.0f}" text-anchor="middle" '
           f'transform="rotate(-90 14 {top + plot_h / 2:.0f})">{_esc(ylabel)}</text>']
    for t in ticks:
        y = ypix(t)
        label = f"{t:g}x" if t >= 1 or not log else f"1/{1 / t:g}x"
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   f'stroke="#e0e0e0"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    if baseline is not None:
        y = ypix(baseline)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   f'stroke="black" stroke-dasharray="4 3"/>')
    x = left + gap
    for g in groups:
        gx = x
        for i, s in enumerate(series):
            v = data[(g, s)]
            color = PALETTE[i % len(PALETTE)]
            if v is None or v <= 0:
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - 4}" '
                           f'text-anchor="middle" font-size="8" fill="#999">n/a</text>')
            else:
                y = ypix(v)
                y_base = ypix(y0) if log else ypix(0.0)
                out.append(f'<rect x="{x}" y="{y:.1f}" width="{bar_w - 2}" '
                           f'height="{max(0.5, y_base - y):.1f}" fill="{color}">'
                           f'<title>{_esc(s)} {_esc(g)}: {v:.2f}</title></rect>')
            x += bar_w
        # "workload case..." on two lines so neighbouring labels never overlap
        first, _, rest = g.partition(" ")
        cx = (gx + x) / 2
        out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                   f'<tspan x="{cx:.1f}" font-weight="bold">{_esc(first)}</tspan>'
                   f'<tspan x="{cx:.1f}" dy="13">{_esc(rest)}</tspan></text>')
        x += gap
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
               f'y2="{top + plot_h}" stroke="black"/>')
    ly = top + plot_h + 56
    for i, s in enumerate(series):
        lx = left + (i % per_row) * legend_w
        yy = ly + 18 * (i // per_row)
        out.append(f'<rect x="{lx}" y="{yy - 9}" width="10" height="10" '
                   f'fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{lx + 14}" y="{yy}">{_esc(s)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
