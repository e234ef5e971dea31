#!/bin/bash
# make check-layers: modules include only modules below them (docs/architecture.md):
# core <- readers <- analyze <- {plot, rules} <- reports <- cli; trainer: core, readers;
# samples: core, readers, plot; sweep: core, readers, analyze, rules.
status=0
allowed() {
    case $1 in
    core) echo "core" ;;
    readers) echo "core readers" ;;
    analyze) echo "core readers analyze" ;;
    plot) echo "core readers analyze plot" ;;
    rules) echo "core readers analyze rules" ;;
    reports) echo "core readers analyze plot rules reports" ;;
    sweep) echo "core readers analyze rules sweep" ;;
    trainer) echo "core readers trainer" ;;
    samples) echo "core readers plot samples" ;;
    cli|tests|bench) echo "core readers analyze plot rules reports trainer samples sweep cli tests" ;;
    esac
}
for dir in core readers analyze plot rules reports trainer samples sweep cli; do
    [ -d "$dir" ] || continue
    ok=$(allowed "$dir")
    for f in "$dir"/*.[ch] "$dir"/*.cu; do
        [ -e "$f" ] || continue
        for inc in $(sed -n 's/^#include "\([a-z]*\)\/.*/\1/p' "$f"); do
            if ! grep -qw "$inc" <<<"$ok"; then
                echo "check-layers: $f includes $inc/ (allowed: $ok)" >&2
                status=1
            fi
        done
    done
done
[ $status -eq 0 ] && echo "check-layers: ok"
exit $status
