"""Instruction counts per operation by callgrind, by subtraction.

Each workload runs at two sizes in fresh processes under callgrind; the
difference of the two totals over the difference of the sizes is the exact
instruction count of one operation (start-up, imports and teardown cancel).

    python measure.py [--wall] [label]
"""
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ONE = os.path.join(HERE, "one.py")
ENV = dict(os.environ, PYTHONHASHSEED="0")

# (name, args at size 1, args at size 2, ops at size 1, ops at size 2)
CASES = [
    ("pingpong", ["pingpong", "5000"], ["pingpong", "15000"], 5000, 15000),
    ("contended", ["contended", "100", "100"], ["contended", "100", "300"], 10000, 30000),
    ("fanout", ["fanout", "5000"], ["fanout", "15000"], 5000, 15000),
    ("grl", ["grl", "5000"], ["grl", "15000"], 5000, 15000),
    ("gev_pingpong", ["gev_pingpong", "5000"], ["gev_pingpong", "15000"], 5000, 15000),
    ("gev_contended", ["gev_contended", "100", "100"], ["gev_contended", "100", "300"], 10000, 30000),
]


def instructions(args):
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                        sys.executable, ONE, *args], env=ENV, capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode or not m:
        raise SystemExit(r.stderr[-3000:])
    return int(m.group(1)), r.stdout.strip()


def wall(args, n=5):
    out = []
    for _ in range(n):
        r = subprocess.run([sys.executable, ONE, *args], env=ENV, capture_output=True,
                           text=True, check=True)
        out.append(float(r.stdout.split()[1]))
    return statistics.median(out), out


def main():
    label = next((a for a in sys.argv[1:] if not a.startswith("-")), "run")
    only = os.environ.get("ONLY")
    res = {}
    if "--no-ir" not in sys.argv:
        for name, a1, a2, n1, n2 in CASES:
            if only and name not in only.split(","):
                continue
            i1, o1 = instructions(a1)
            i2, o2 = instructions(a2)
            per = (i2 - i1) / (n2 - n1)
            res[name + "_ir"] = round(per)
            print(f"{label} {name}: {per:,.0f} instructions/op ({o2})", flush=True)
    if "--wall" in sys.argv:
        for name, args in (("pingpong", ["pingpong", "100000"]),
                           ("contended", ["contended", "100", "1000"]),
                           ("fanout", ["fanout", "100000"]),
                           ("grl", ["grl", "100000"])):
            if only and name not in only.split(","):
                continue
            med, all_ = wall(args)
            res[name + "_ns"] = med
            print(f"{label} {name}: {med:.0f} ns/op median of 5 {sorted(all_)}", flush=True)
    print(json.dumps({label: res}))


if __name__ == "__main__":
    main()
