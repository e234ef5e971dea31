#!/bin/bash
# vsim_cli_sigbus (vsim-stats, vsim-rules): a shard cut short while mapped ends
# the program with a message and exit status 1; any other SIGBUS keeps its
# default action (the process is killed by the signal: status 128 + 7).
. "$(dirname "$0")/lib.sh"
H=$BUILD/tests/helpers/sigbus-check
expect_exit 1 "a mapped shard cut short" "$H" "$TMP/run" shrink
expect_grep "the message" 'sigbus-check: a shard shrank while it was mapped \(shards must not change once written\); stopping' "$TMP/err"
# (a shell in between, so that its "Bus error" notice goes to $TMP/err)
expect_exit 135 "another SIGBUS: default action" bash -c '"$@"; exit $?' _ "$H" "$TMP/run2" other
finish
