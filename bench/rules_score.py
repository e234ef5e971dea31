#!/usr/bin/python3
"""bench/rules_score.py - score the rules on the labelled corpus (issue 19).

    rules_score.py CORPUS_DIR [--rules FILE] [--bin DIR] [--json OUT] [--semantics S]
                   [--eval-interval N]

Runs vsim-rules over every run of CORPUS_DIR/corpus.tsv (bench/rules-corpus.sh)
with the rules of FILE (default bench/rules-corpus.rules) and prints, per rule,
how often it fired on the healthy runs, and per broken case whether the rule
meant for it fired, at which training step and how long after the fault began.
Steps are training steps: a verdict at an evaluation counts at the training
step the evaluation followed. Exit 0; the figures are in the tables (and --json).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

DEFAULT_SET = ["LossNotDecreasing", "VanishingGradient", "ExplodingTensor",
               "WeightUpdateRatio", "DeadRelu", "LatentNeighbors"]


def train_step(v, eval_interval):
    """The training step a verdict belongs to (the step done before an evaluation)."""
    if v.get("mode") == "eval":
        return (v["mode_step"] + 1) * eval_interval - 1
    return v.get("mode_step", v["step"])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--rules", default=os.path.join(here, "rules-corpus.rules"))
    ap.add_argument("--bin", default=os.path.join(here, "..", "bin"))
    ap.add_argument("--json")
    ap.add_argument("--semantics", default="vsim")
    ap.add_argument("--eval-interval", type=int, default=50)
    a = ap.parse_args()
    runs = []
    with open(os.path.join(a.corpus, "corpus.tsv")) as f:
        for line in f:
            name, cls, case, step, rule, args = line.rstrip("\n").split("\t")
            runs.append(dict(name=name, cls=cls, case=case,
                             fault_step=None if step == "-" else int(step),
                             rule=None if rule == "-" else rule, args=args))
    for r in runs:
        p = subprocess.run([os.path.join(a.bin, "vsim-rules"), os.path.join(a.corpus, r["name"]),
                            "-F", a.rules, "-f", "json", "-j", "2", "--semantics", a.semantics],
                           capture_output=True, text=True)
        if p.returncode not in (0, 3):
            sys.exit("rules_score: vsim-rules %s exited %d: %s" % (r["name"], p.returncode,
                                                                   p.stderr.strip()))
        fired = {}
        rules = []
        for line in p.stdout.splitlines():
            v = json.loads(line)
            if v.get("type") == "summary":
                rules = [x["rule"] for x in v["rules"]]
            elif v.get("result") == "fired":
                fired.setdefault(v["rule"], []).append(train_step(v, a.eval_interval)
                                                       if v["step"] >= 0 else 10**9)
        r["first"] = {k: min(x) for k, x in fired.items()}
        r["n_fired"] = {k: len(x) for k, x in fired.items()}
        r["rules"] = rules
    rules = runs[0]["rules"]
    healthy = [r for r in runs if r["cls"] == "healthy"]
    broken = [r for r in runs if r["cls"] == "broken"]
    res = {"semantics": a.semantics, "n_healthy": len(healthy), "n_broken": len(broken),
           "healthy": {}, "cases": {}, "runs": runs}
    print("healthy runs: %d (%s semantics); a run counts once per rule that fired on it"
          % (len(healthy), a.semantics))
    print("%-26s %8s %8s  %s" % ("rule", "runs", "fired", "runs it fired on"))
    for rule in rules:
        on = [r["name"] for r in healthy if rule in r["first"]]
        res["healthy"][rule] = {"runs_fired": len(on), "verdicts": sum(
            r["n_fired"].get(rule, 0) for r in healthy), "on": on}
        print("%-26s %8d %8d  %s%s" % (rule + ("*" if rule in DEFAULT_SET else ""),
                                       len(healthy), len(on), " ".join(on[:4]),
                                       " ..." if len(on) > 4 else ""))
    dflt = sum(1 for r in healthy if any(k in r["first"] for k in DEFAULT_SET))
    res["healthy_default_fired_runs"] = dflt
    print("default set (*): fired on %d of %d healthy runs" % (dflt, len(healthy)))
    print()
    print("broken runs: %d; caught = the rule meant for the case fired at or after the fault;"
          % len(broken))
    print("delay: median training steps from the fault to its first firing; dflt set: the same "
          "for the first rule of the default set (- where it misses a run)")
    print("%-20s %-20s %6s %7s %7s %9s  %s" % ("case", "rule meant", "runs", "caught",
                                               "delay", "dflt set", "also fired"))
    delays_all = []
    caught_all = 0
    for case in dict.fromkeys(r["case"] for r in broken):
        rs = [r for r in broken if r["case"] == case]
        rule = rs[0]["rule"]
        delays = []
        for r in rs:
            f = r["first"].get(rule)
            if f is not None and f >= r["fault_step"] and f < 10**9:
                delays.append(f - r["fault_step"])
            r["caught"] = f is not None and f >= r["fault_step"]
            r["delay"] = f - r["fault_step"] if r["caught"] and f < 10**9 else None
            d = [x for k, x in r["first"].items() if k in DEFAULT_SET and r["fault_step"] <= x < 10**9]
            r["default_delay"] = min(d) - r["fault_step"] if d else None
        caught = sum(r["caught"] for r in rs)
        caught_all += caught
        delays_all += delays
        also = sorted({k for r in rs for k in r["first"] if k != rule})
        med = statistics.median(delays) if delays else None
        dd = [r["default_delay"] for r in rs if r["default_delay"] is not None]
        dmed = statistics.median(dd) if len(dd) == len(rs) else None
        res["cases"][case] = {"rule": rule, "runs": len(rs), "caught": caught,
                              "median_delay": med, "delays": delays, "also": also,
                              "default_set_median_delay": dmed}
        print("%-20s %-20s %6d %7d %7s %9s  %s" % (case, rule, len(rs), caught,
                                                  "-" if med is None else "%g" % med,
                                                  "-" if dmed is None else "%g" % dmed,
                                                  " ".join(also)))
    res["recall"] = caught_all / len(broken) if broken else None
    res["median_delay"] = statistics.median(delays_all) if delays_all else None
    print("caught %d of %d broken runs (%.1f %%), median delay %s training steps" % (
        caught_all, len(broken), 100.0 * caught_all / max(len(broken), 1),
        res["median_delay"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
