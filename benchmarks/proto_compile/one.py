"""Run one workload once, in this process (for callgrind and wall-clock runs).

    python one.py pingpong N | contended P M | fanout N | grl N
Prints: workload ns/op check compiled-modules
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import bench_core as B  # noqa: E402

w = sys.argv[1]
args = [int(a) for a in sys.argv[2:]]
if w == "pingpong":
    t, s = B.gmp_pingpong(args[0]); n = args[0]
elif w == "contended":
    t, s = B.gmp_contended(args[0], args[1]); n = args[0] * args[1]
elif w == "fanout":
    t, s = B.gmp_fanout(args[0]); n = args[0]
elif w == "gev_pingpong":
    t, s = B.gev_pingpong(args[0]); n = args[0]
elif w == "gev_contended":
    t, s = B.gev_contended(args[0], args[1]); n = args[0] * args[1]
elif w == "grl":
    t, s = B.grl_pingpong(args[0]); n = args[0]
else:
    raise SystemExit(f"unknown workload {w}")
mods = []
if not w.startswith(("grl", "gev")):
    import gmploop._chan, gmploop._runtime.proc, gmploop._runtime.sema, gmploop._runtime.runtime2, gmploop._runtime.runq
    for m in (gmploop._chan, gmploop._runtime.proc, gmploop._runtime.sema,
              gmploop._runtime.runtime2, gmploop._runtime.runq):
        if not m.__file__.endswith(".py"):
            mods.append(m.__name__.rsplit(".", 1)[1])
print(w, f"{t / n * 1e9:.0f}", s, ",".join(mods) or "pure")
