#!/bin/bash
# make install PREFIX=...: programs, library, headers, pkg-config file and man
# pages land where they should, and a program built with `pkg-config vsim`
# against the installed library reads a run.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
P=$TMP/inst
SANARGS=()
case "$BUILD" in *san*) SANARGS=(SAN=address,undefined VSIM_TEST=1) ;; esac
make -s -C "$ROOT" install PREFIX="$P" BUILD="$BUILD" BIN="$BIN" "${SANARGS[@]}" >"$TMP/make.out" 2>&1
check "make install succeeds ($(tail -3 "$TMP/make.out"))" test $? -eq 0
for prog in vsim-ls vsim-render vsim-train vsim-stats vsim-plot vsim-tsne vsim-rules vsim-report; do
    check "$prog installed" test -x "$P/bin/$prog"
    check "$prog man page" test -s "$P/share/man/man1/$prog.1"
done
check "library" test -s "$P/lib/libvsim.a" -a -s "$P/lib/libvsim.so"
check "headers" test -s "$P/include/vsim/readers/trial.h" -a -s "$P/include/vsim/core/vsim.h" \
    -a -s "$P/include/vsim/reports/report.h"
check "no internal headers" test ! -e "$P/include/vsim/rules/rules_int.h"
expect_grep "pkg-config file" "^Libs: -L\\$\\{libdir\\} -lvsim" "$P/lib/pkgconfig/vsim.pc"
check "man page renders" bash -c "man -l '$P/share/man/man1/vsim-stats.1' 2>/dev/null | grep -q NAME"
case "$BUILD" in
*san*) echo "t0290-install: sanitizer build: skipping the link test" ;;
*)
    cat >"$TMP/use.c" <<'C'
#include <stdio.h>
#include "readers/trial.h"
int main(int argc, char **argv)
{
    vsim_trial *t;

    if (argc < 2 || vsim_trial_open(argv[1], &t)) {
        fprintf(stderr, "%s\n", vsim_errmsg());
        return 1;
    }
    printf("%zu steps\n", vsim_trial_n_steps(t));
    vsim_trial_close(t);
    return 0;
}
C
    export PKG_CONFIG_PATH=$P/lib/pkgconfig
    check "compiles against the installed library" \
        cc "$TMP/use.c" -o "$TMP/use" $(pkg-config --cflags --libs vsim) -Wl,-rpath,"$P/lib"
    "$BUILD/tests/helpers/shard-writer" "$TMP/run" 7 10 0 1 >/dev/null
    expect_exit 0 "installed library reads a run" "$TMP/use" "$TMP/run"
    expect_grep "steps counted" "^7 steps$" "$TMP/out"
    ;;
esac
finish
