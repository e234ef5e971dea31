#!/usr/bin/python3
# tests/ref/stats_ref.py - reference statistics for tests/unit/test_stats.c (issue 5),
# computed with numpy. Run with Debian's python3 (numpy 1.24):
#     /usr/bin/python3 tests/ref/stats_ref.py > tests/ref/stats_ref.h
# Data are regenerated bit for bit in C: element i of a case uses the uniforms
# u_j = (splitmix64(seed + (8 i + j + 1) * GAMMA) >> 11) * 2^-53, j = 0..7, and the
# same double arithmetic (see gen() below and gen_value() in test_stats.c).
# References: the statistics of the finite values of x.astype(float64); numpy's
# default (linear) percentiles; numpy.histogram with N bins (log bins: over
# log10|x| of the non-zero finite values).
# SPDX-License-Identifier: MIT
import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
PCTS = [0, 1, 5, 25, 50, 75, 95, 99, 100, 33.3]
LIN_BINS = 10
LOG_BINS = 8

GENS = ["normal", "uniform", "int", "const", "special", "allnan", "denormal", "relu",
        "lowcard"]


def uniforms(seed, n):
    k = np.arange(8 * n, dtype=np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + k * GAMMA
        z = (z ^ (z >> np.uint64(30))) * M1
        z = (z ^ (z >> np.uint64(27))) * M2
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    return u.reshape(n, 8)


def gen(kind, seed, n, a, b, c):
    u = uniforms(seed, n)
    normal = a + b * ((((u[:, 0] + u[:, 1]) + u[:, 2]) + u[:, 3]) - 2.0)
    if kind == "normal":
        return normal
    if kind == "uniform":
        return a + (b - a) * u[:, 0]
    if kind == "int":
        return a + np.floor(u[:, 0] * (b - a + 1.0))
    if kind == "const":
        return np.full(n, a)
    if kind == "special":
        x = normal.copy()
        cls = np.floor(u[:, 5] * 4.0)
        hit = u[:, 4] < c
        x[hit & (cls == 0)] = np.nan
        x[hit & (cls == 1)] = np.inf
        x[hit & (cls == 2)] = -np.inf
        x[hit & (cls == 3)] = 0.0
        return x
    if kind == "allnan":
        return np.full(n, np.nan)
    if kind == "denormal":
        return a * (u[:, 0] - 0.5)
    if kind == "relu":
        return np.maximum(normal, 0.0)
    if kind == "lowcard":
        return a + np.floor(u[:, 0] * b) * c
    raise ValueError(kind)


# name, dtype, view, seed, gen, a, b, c, shape
# view: contig | transpose (2-D, the transposed view) | step2 (2-D, every other column)
CASES = [
    ("empty", "float32", "contig", 1, "normal", 0, 1, 0, (0,)),
    ("empty2d", "float64", "contig", 1, "normal", 0, 1, 0, (3, 0)),
    ("scalar", "float64", "contig", 2, "normal", 5, 1, 0, ()),
    ("single", "float32", "contig", 3, "normal", -2, 3, 0, (1,)),
    ("two", "float64", "contig", 4, "uniform", -1, 1, 0, (2,)),
    ("f32_small", "float32", "contig", 5, "normal", 0.1, 2, 0, (7, 13)),
    ("f64_small", "float64", "contig", 6, "normal", -3, 0.5, 0, (5, 4, 3)),
    ("f32_offset", "float32", "contig", 7, "normal", 1000, 0.01, 0, (4097,)),
    ("f64_offset", "float64", "contig", 8, "normal", 1e8, 1, 0, (10000,)),
    ("f32_uniform", "float32", "contig", 9, "uniform", -5, 5, 0, (33, 65)),
    ("i32", "int32", "contig", 10, "int", -1000, 1000, 0, (999,)),
    ("i64", "int64", "contig", 11, "int", -5e12, 5e12, 0, (20, 50)),
    ("u8", "uint8", "contig", 12, "int", 0, 255, 0, (64, 64)),
    ("const_f32", "float32", "contig", 13, "const", 0.25, 0, 0, (100,)),
    ("const_i32", "int32", "contig", 14, "const", 7, 0, 0, (10, 10)),
    ("zeros", "float64", "contig", 15, "const", 0, 0, 0, (50,)),
    ("allnan", "float32", "contig", 16, "allnan", 0, 0, 0, (30,)),
    ("special_f32", "float32", "contig", 17, "special", 0, 1, 0.2, (1000,)),
    ("special_f64", "float64", "contig", 18, "special", 2, 3, 0.5, (3, 333)),
    ("mostly_inf", "float64", "contig", 19, "special", 0, 1, 0.999, (2000,)),
    ("denorm_f64", "float64", "contig", 20, "denormal", 1e-310, 0, 0, (500,)),
    ("denorm_f32", "float32", "contig", 21, "denormal", 1e-40, 0, 0, (500,)),
    ("relu_f32", "float32", "contig", 22, "relu", 0, 1, 0, (16, 32)),
    ("lowcard_f64", "float64", "contig", 23, "lowcard", -1, 5, 0.5, (777,)),
    ("transpose_f32", "float32", "transpose", 24, "normal", 0, 1, 0, (37, 19)),
    ("step2_f64", "float64", "step2", 25, "special", 1, 1, 0.1, (41, 23)),
    ("step2_i32", "int32", "step2", 26, "int", -50, 50, 0, (9, 11)),
    # Large: the radix selection path (> 65536 elements) and its refinements.
    ("big_f32", "float32", "contig", 30, "normal", 0, 0.02, 0, (300000,)),
    ("big_f64", "float64", "contig", 31, "special", -1, 10, 0.01, (250, 1000)),
    ("big_const_f64", "float64", "contig", 32, "const", -3.5, 0, 0, (200000,)),
    ("big_relu_f32", "float32", "contig", 33, "relu", 0, 1, 0, (400, 400)),
    ("big_i32_lowcard", "int32", "contig", 34, "int", 0, 9, 0, (150000,)),
    ("big_i64", "int64", "contig", 35, "int", -1e15, 1e15, 0, (100000,)),
    ("big_u8", "uint8", "contig", 36, "int", 0, 255, 0, (131072,)),
    ("big_lowcard_f32", "float32", "contig", 37, "lowcard", 1, 3, 1e-3, (200000,)),
    ("big_transpose_f64", "float64", "transpose", 38, "normal", 5, 2, 0, (300, 301)),
    ("big_step2_f32", "float32", "step2", 39, "special", 0, 1, 0.05, (200, 800)),
]


def make(case):
    name, dtype, view, seed, kind, a, b, c, shape = case
    base = shape
    if view == "step2":
        base = (shape[0], 2 * shape[1])
    n = int(np.prod(base, dtype=np.int64))
    x = gen(kind, seed, n, float(a), float(b), float(c))
    with np.errstate(invalid="ignore", over="ignore"):
        if dtype in ("int32", "int64", "uint8"):
            x = x.astype(np.int64).astype(dtype)
        else:
            x = x.astype(dtype)
    x = x.reshape(base)
    if view == "transpose":
        x = x.T
    elif view == "step2":
        x = x[:, ::2]
    return x


def fmt(v):
    v = float(v)
    if np.isnan(v):
        return "NAN"
    if np.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return repr(v)


def stats(x):
    d = np.asarray(x, dtype=np.float64).ravel()
    fin = d[np.isfinite(d)]
    out = [d.size, np.isnan(d).sum(), np.isposinf(d).sum(), np.isneginf(d).sum(),
           (fin == 0).sum()]
    if fin.size:
        out += [fin.min(), fin.max(), fin.mean(), fin.std(), np.abs(fin).sum(),
                np.sqrt(np.dot(fin, fin))]
        pct = list(np.percentile(fin, PCTS))
    else:
        out += [np.nan] * 4 + [0.0, 0.0]
        pct = [np.nan] * len(PCTS)
    nz = np.abs(fin[fin != 0])
    return out, pct, histogram(fin, LIN_BINS), histogram(np.log10(nz), LOG_BINS)


def histogram(v, bins):
    """numpy.histogram, or None where numpy cannot bin (a range of denormals)."""
    with np.errstate(all="raise"):
        try:
            return np.histogram(v, bins=bins)
        except (FloatingPointError, IndexError):
            return None


def main():
    print("/* Generated by tests/ref/stats_ref.py with numpy %s: do not edit. */" %
          np.__version__)
    print("static const double ref_pcts[] = { %s };" % ", ".join(fmt(p) for p in PCTS))
    print("#define REF_N_PCTS %d" % len(PCTS))
    print("#define REF_LIN_BINS %d" % LIN_BINS)
    print("#define REF_LOG_BINS %d" % LOG_BINS)
    print("static const struct ref_case ref_cases[] = {")
    for case in CASES:
        name, dtype, view, seed, kind, a, b, c, shape = case
        x = make(case)
        out, pct, lin, log = stats(x)
        shp = ", ".join(str(s) for s in shape) or "0"
        print('    { "%s", "%s", "%s", %d, "%s", %s, %s, %s, %d, { %s },' %
              (name, dtype, view, seed, kind, fmt(a), fmt(b), fmt(c), len(shape), shp))
        print("      { %s }," % ", ".join(str(int(v)) for v in out[:5]))
        print("      { %s }," % ", ".join(fmt(v) for v in out[5:]))
        print("      { %s }," % ", ".join(fmt(v) for v in pct))
        for h, end in ((lin, ","), (log, " },")):
            if h is None:
                print("      { -1 }, NAN, NAN%s" % end)
            else:
                print("      { %s }, %s, %s%s" % (", ".join(str(int(v)) for v in h[0]),
                                                 fmt(h[1][0]), fmt(h[1][-1]), end))
    print("};")


if __name__ == "__main__":
    main()
