#!/bin/bash
# The shard format is plain HDF5: h5py and h5dump read what the writer made, and
# vsim reads a shard that h5py wrote (no vsim_index: the reader visits datasets).
. "$(dirname "$0")/lib.sh"
W=$BUILD/tests/helpers/shard-writer

$W "$TMP/run" 4 1000 0 2 >/dev/null
check "h5py reads shards" $PYTHON - "$TMP/run" <<'PY'
import h5py, json, sys, numpy as np
run = sys.argv[1]
meta = json.load(open(run + "/run.json"))
assert meta["schema"] == "vsim-run/1" and meta["hyperparameters"]["lr"] == 0.001, meta
assert [c["name"] for c in meta["collections"]][:3] == ["weights", "biases", "gradients"]
for step in range(4):
    with h5py.File("%s/shards/w0/step-%012d.h5" % (run, step), "r") as f:
        a = f.attrs
        assert a["vsim_schema"] == "vsim-shard/1" and a["step"] == step and a["worker"] == 0
        assert a["mode"] == "train" and a["wall_time"] > 1.7e9
        for k in range(2):
            d = f["tensors/layer%d/weight" % k]
            assert d.dtype == np.float32 and d.shape == (1000,)
            want = (((step * 131 + np.arange(1000) * 7 + k) % 251) - 100.0).astype(np.float32) / np.float32(8)
            assert np.array_equal(d[()], want), (step, k)
            assert d.attrs["collections"] == "weights"
        assert f["tensors/loss"][()][0] == np.float32(1.0) / np.float32(step + 1)
PY
check "h5dump reads a shard" bash -c "h5dump -H '$TMP/run/shards/w0/step-000000000002.h5' | grep -q 'DATASET \"weight\"'"

# a shard written by h5py alone, with every dtype and a reductions dataset
mkdir -p "$TMP/foreign/shards/w0"
echo '{"schema": "vsim-run/1", "run_id": "py", "n_workers": 1}' > "$TMP/foreign/run.json"
$PYTHON - "$TMP/foreign/shards/w0/step-000000000010.h5" <<'PY'
import h5py, sys, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.attrs.update(vsim_schema="vsim-shard/1", step=10, worker=0, mode="eval", mode_step=2,
                   wall_time=1.8e9)
    for dt in ["float32", "float64", "int32", "int64", "uint8"]:
        d = f.create_dataset("tensors/x/" + dt, data=np.arange(6, dtype=dt).reshape(2, 3))
        d.attrs["collections"] = "weights,custom"
    r = f.create_dataset("reductions/g", data=np.array([1.0, 2.0]))
    r.attrs.update(collections="gradients", reductions="min,l2", dtype="float32",
                   shape=np.array([4, 4], dtype=np.int64))
PY
expect_exit 0 "foreign shard listed" "$BIN/vsim-ls" --format json "$TMP/foreign"
check "foreign shard content" $PYTHON - "$TMP/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in d["tensors"]}
assert d["modes"]["eval"]["steps"] == "10", d["modes"]
for dt in ["float32", "float64", "int32", "int64", "uint8"]:
    x = t["x/" + dt]
    assert x["dtype"] == dt and x["shape"] == [2, 3] and x["collections"] == "weights,custom", x
g = t["g"]
assert g["values"] is False and g["reductions"] == ["min", "l2"] and g["shape"] == [4, 4], g
PY
finish
