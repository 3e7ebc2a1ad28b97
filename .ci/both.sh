#!/usr/bin/env bash
# .ci/both.sh LOGDIR NAME COMMAND...: run the test COMMAND twice at once, on
# the compiled hot path and on the pure one (GMPLOOP_PURE=1), each told which
# build it must find (GMPLOOP_EXPECT_BUILD, checked by tests/test_compiled.py).
# The compiled run's output goes to stdout; the pure run's to
# LOGDIR/NAME-pure.log, printed after, with its exit status in
# LOGDIR/NAME-pure.rc. Exits with the compiled run's status. Both runs share
# the machine's CPUs: the suite is run under load on purpose (no test may
# depend on timing), and the matrix takes half as long.
set -uo pipefail
logdir=$1 name=$2; shift 2
mkdir -p "$logdir"
( GMPLOOP_PURE=1 GMPLOOP_EXPECT_BUILD=pure "$@" >"$logdir/$name-pure.log" 2>&1
  echo $? >"$logdir/$name-pure.rc" ) &
pure=$!
GMPLOOP_EXPECT_BUILD=compiled "$@"
rc=$?
wait "$pure"
echo "--- $name, pure hot path (GMPLOOP_PURE=1):"
cat "$logdir/$name-pure.log"
exit $rc
