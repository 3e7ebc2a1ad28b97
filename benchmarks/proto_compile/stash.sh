#!/bin/sh
# stash.sh save NAME: move the built .so files away under /tmp/so_stash/NAME
# stash.sh load NAME: put them back (removing any others first)
set -e
cd "$(dirname "$0")/../.."
case "$1" in
save) mkdir -p /tmp/so_stash/$2; rm -f /tmp/so_stash/$2/*; for f in $(find gmploop -name '*.so'); do mv "$f" /tmp/so_stash/$2/"$(echo $f | tr / @)"; done ;;
load) find gmploop -name '*.so' -delete; for f in /tmp/so_stash/$2/*; do cp "$f" "$(basename $f | tr @ /)"; done ;;
clear) find gmploop -name '*.so' -delete ;;
esac
