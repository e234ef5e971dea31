#!/bin/bash
# t0900-report: vsim-report end to end (issue 20). The page parses as HTML, its
# summary JSON equals --summary-json and what vsim-stats and vsim-tsne --quality
# print for the same run, the same run gives the same bytes, the run is only read;
# missing data is said per section; a corrupt shard is named (exit 4); an
# unreadable run is an error (exit 1) with no file left; in headless Chromium the
# page loads offline with no error, draws every point, shows thumbnails on hover,
# and runs no injected script.
. "$(dirname "$0")/lib.sh"
M=$BUILD/tests/helpers/report-mkrun
REP=$BIN/vsim-report
HERE=$(cd "$(dirname "$0")" && pwd)
export XDG_CACHE_HOME=$TMP/xdg

expect_exit 2 "no -o" "$REP" "$TMP/none"
expect_exit 2 "bad theme" "$REP" "$TMP/none" -o "$TMP/x.html" --theme pink
expect_exit 1 "unreadable run" "$REP" "$TMP/none" -o "$TMP/x.html"
expect_grep "error names the run" "$TMP/none" "$TMP/err"
check "no output left behind" test ! -e "$TMP/x.html"
check "no temporary file left behind" test -z "$(ls "$TMP" | grep -i 'x.html')"

for m in healthy xss noembed noeval empty; do
    "$M" "$TMP/$m" $m || fail "mkrun $m"
done
"$BIN/vsim-render" -o "$TMP/ds.h5" --designs 7 --size 32 >/dev/null || fail "render"
ls -lR --time-style=full-iso "$TMP/healthy" >"$TMP/before"
expect_exit 0 "report of a healthy run" "$REP" "$TMP/healthy" -o "$TMP/h.html" --data "$TMP/ds.h5"
check "the run is only read" diff "$TMP/before" <(ls -lR --time-style=full-iso "$TMP/healthy")
check "the t-SNE layout is cached outside the run" test -n "$(ls "$TMP/xdg/vsim/tsne")"
expect_exit 0 "again, from the cache" "$REP" "$TMP/healthy" -o "$TMP/h2.html" --data "$TMP/ds.h5"
check "byte-identical from the cache" cmp -s "$TMP/h.html" "$TMP/h2.html"
expect_exit 0 "again, no cache" "$REP" "$TMP/healthy" -o "$TMP/h3.html" --data "$TMP/ds.h5" \
    --cache none
check "byte-identical without the cache" cmp -s "$TMP/h.html" "$TMP/h3.html"
expect_exit 0 "with --timestamp" "$REP" "$TMP/healthy" -o "$TMP/h4.html" --timestamp
expect_grep "the time is written only when asked" "written [0-9]{4}-[0-9]{2}-[0-9]{2}T" \
    "$TMP/h4.html"
check "no timestamp by default" bash -c "! grep -qE 'written [0-9]{4}-' '$TMP/h.html'"
check "no network URL in the page" bash -c "! grep -qiE '(src|href)=\"(https?:)?//' '$TMP/h.html'"
check "a CSP forbids every request" grep -q "default-src 'none'" "$TMP/h.html"
expect_exit 0 "--summary-json" "$REP" --summary-json "$TMP/healthy" --data "$TMP/ds.h5"
cp "$TMP/out" "$TMP/summary.json"
VSIM_QUIET=1 "$BIN/vsim-stats" "$TMP/healthy" -c weights -c biases -c gradients --format json \
    >"$TMP/stats.json" || fail "vsim-stats"
VSIM_QUIET=1 "$BIN/vsim-tsne" --run "$TMP/healthy" --quality --format json -o "$TMP/t.csv" \
    >"$TMP/tsne.json" || fail "vsim-tsne"

cat >"$TMP/oracle.py" <<'PY'
import json, math, re, sys
import html5lib
page, summary, stats, tsne = sys.argv[1:5]
text = open(page, encoding="utf-8").read()
html5lib.HTMLParser(strict=True).parse(text)            # raises on any parse error
m = re.search(r'<script type="application/json" id="vsim-summary">(.*?)</script>', text, re.S)
emb = json.loads(m.group(1))
cli = json.load(open(summary))
assert emb == cli, "the page's summary differs from --summary-json"
rows = json.load(open(stats))["rows"]
got = emb["layers"]
assert len(rows) == len(got) > 0, (len(rows), len(got))
for a, b in zip(rows, got):
    for k, v in a.items():
        w = b[k]
        if isinstance(v, float) or isinstance(w, float):
            assert math.isclose(v, w, rel_tol=1e-12, abs_tol=1e-300), (a["tensor"], k, v, w)
        else:
            assert v == w, (a["tensor"], k, v, w)
q = json.load(open(tsne))
e = emb["embedding"]
assert e["n"] == q["n"] == 120, (e["n"], q["n"])
for k in ("kl", "nn_preservation", "knn_accuracy", "trustworthiness"):
    assert abs(e[k] - q[k]) <= 5e-6 * max(1, abs(q[k])), (k, e[k], q[k])
assert e["kl_points"] == q["kl_points"] and e["trust_points"] == q["trust_points"]
f = emb["figures"]
assert f["train_loss"]["final_step"] == 12 and f["eval_loss"]["final_step"] == 13, f
assert emb["status"] == "completed" and emb["steps"]["eval"] == 2, emb["steps"]
assert [v["rule"] for v in emb["rules"]["verdicts"]][:2] == ["LossNotDecreasing",
                                                              "VanishingGradient"]
assert emb["problems"] == [] and not [m for m in emb["missing"] if m["section"] not in ("model", "images")]
print("oracle: ok")
PY
check "HTML parses; summary equals --summary-json, vsim-stats and vsim-tsne --quality" \
    "$PYTHON" "$TMP/oracle.py" "$TMP/h.html" "$TMP/summary.json" "$TMP/stats.json" \
    "$TMP/tsne.json"

# missing data is said where it is missing
expect_exit 0 "run without embeddings" "$REP" "$TMP/noembed" -o "$TMP/ne.html"
expect_grep "embeddings section says so" 'data-missing="embeddings">[^<]*saved no embeddings' \
    "$TMP/ne.html"
expect_exit 0 "run without evaluation" "$REP" "$TMP/noeval" -o "$TMP/nv.html"
expect_grep "curves say there is no eval loss" 'data-missing="curves">[^<]*no evaluation steps' \
    "$TMP/nv.html"
expect_exit 0 "run with no steps" "$REP" "$TMP/empty" -o "$TMP/em.html"
expect_grep "no steps said" 'data-missing="run">[^<]*has no complete steps' "$TMP/em.html"
expect_grep "layers say so" 'data-missing="layers">[^<]*saved no weights' "$TMP/em.html"
expect_exit 0 "--no-tsne" "$REP" "$TMP/healthy" -o "$TMP/nt.html" --no-tsne
expect_grep "t-SNE off said" 't-SNE turned off' "$TMP/nt.html"

# recorded verdicts (vsim-rules --record) are used instead of running the rules again
cp -r "$TMP/healthy" "$TMP/recorded"
VSIM_QUIET=1 "$BIN/vsim-rules" "$TMP/recorded" --record -r DeadRelu -r ExplodingTensor >/dev/null
expect_exit 0 "--summary-json of a run with recorded verdicts" "$REP" --summary-json \
    "$TMP/recorded" --cache none
check "the recorded verdicts are reported" "$PYTHON" -c "
import json
r = json.load(open('$TMP/out'))['rules']
assert r['source'] == 'recorded', r['source']
# the file holds what vsim-rules printed: DeadRelu's run-level note; nothing re-evaluated
assert [v['rule'] for v in r['verdicts']] == ['DeadRelu'], r"

# a stopped run names the rule that stopped it
cp -r "$TMP/healthy" "$TMP/stopped"
printf '{"status": "stopped", "last_step": 13}\n' >"$TMP/stopped/END"
printf '{"rule": "LossNotDecreasing", "result": "fired", "step": 9, "message": "loss/total flat"}\n' \
    >"$TMP/stopped/STOP"
expect_exit 0 "report of a stopped run" "$REP" "$TMP/stopped" -o "$TMP/st.html" --cache none
expect_grep "who stopped it" 'status-stopped">stopped</span> by rule <b>LossNotDecreasing</b> at step 9: loss/total flat' "$TMP/st.html"

# a corrupt shard is named and skipped: exit 4, the page still written
cp -r "$TMP/healthy" "$TMP/corrupt"
bad=$TMP/corrupt/shards/w0/step-000000000003.h5
head -c 900 "$bad" >"$bad.cut" && mv "$bad.cut" "$bad"
expect_exit 4 "corrupt shard: exit 4" "$REP" "$TMP/corrupt" -o "$TMP/c.html"
expect_grep "stderr says shards were skipped" "1 corrupt shard" "$TMP/err"
expect_grep "the page names the bad file" "<code>[^<]*step-000000000003.h5</code>" "$TMP/c.html"
expect_grep "the rest is shown" "final train loss" "$TMP/c.html"

# several runs side by side
expect_exit 0 "two runs compared" "$REP" "$TMP/healthy" "$TMP/noeval" -o "$TMP/cmp.html" --data "$TMP/ds.h5" \
    --title "two runs"
check "both runs in the summary JSON" "$PYTHON" -c "
import json, re
t = open('$TMP/cmp.html').read()
s = json.loads(re.search(r'id=\"vsim-summary\">(.*?)</script>', t, re.S).group(1))
assert isinstance(s, list) and len(s) == 2 and s[1]['dir'].endswith('noeval')
assert t.count('class=\"best\"') >= 3 and '<title>two runs</title>' in t"

# in a real browser
expect_exit 0 "report of the payload run" "$REP" "$TMP/xss" -o "$TMP/x.html"
check "payloads escaped for HTML and script" bash -c "! grep -q '<img src=x' '$TMP/x.html'"
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    check "Chromium: the report loads offline, draws every point, hover shows a thumbnail" \
        "$PYTHON" "$HERE/../browser/report_check.py" "$TMP/h.html" full "$TMP/shot.png"
    check "Chromium: no injected script runs" \
        "$PYTHON" "$HERE/../browser/report_check.py" "$TMP/x.html" xss
    check "Chromium: the comparison page loads" \
        "$PYTHON" "$HERE/../browser/report_check.py" "$TMP/cmp.html" full
else
    fail "chromium and chromium-driver are needed (scripts/deps.sh installs them)"
fi
finish
