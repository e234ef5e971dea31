#!/usr/bin/python3
"""tests/sweep/replay_optuna.py - `vsim-sweep replay` checked against Optuna's own
pruners (Debian's python3-optuna 3.1): the recorded curves, costs and job orders
that `vsim-sweep replay --format json` prints are played again here by a
simulation written independently in Python, with Optuna's MedianPruner /
PercentilePruner / SuccessiveHalvingPruner deciding (ask, report, should_prune,
tell). For every pruner arm and every shuffle, each job's status and steps must
be vsim's; the figures of Optuna's arm are printed (the bench's "Optuna
MedianPruner" row).

Usage: replay_optuna.py REPLAY.json [--arm SPEC]   exit 0: all the same; 1: a difference.
With --arm SPEC only that pruner is played and its figures printed (no comparison).
"""
import json, math, sys, warnings
import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.simplefilter("ignore")


def make_pruner(spec, eval_interval):
    """An Optuna pruner from a vsim arm spec (without 'rules+'); None for 'none'."""
    name, *settings = spec.split(",")
    kv = dict(s.split("=", 1) for s in settings)
    if name == "none":
        return None
    if name == "median" or name.startswith("percentile:"):
        q = 50.0 if name == "median" else float(name.split(":", 1)[1])
        return optuna.pruners.PercentilePruner(
            q, n_startup_trials=int(kv.get("startup", 5)),
            n_warmup_steps=int(kv.get("warmup", 0)), interval_steps=int(kv.get("interval", 1)),
            n_min_trials=int(kv.get("min_trials", 1)))
    if name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=int(kv.get("min_resource", eval_interval)),
            reduction_factor=int(kv.get("rf", 4)),
            min_early_stopping_rate=int(kv.get("rate", 0)))
    raise ValueError(spec)


def play(jobs, order, parallel, pruner, use_rules, top=None, steps=None):
    """One sweep in simulated time; per job (status, steps, last value). top: (K, at)."""
    study = optuna.create_study(pruner=pruner or optuna.pruners.NopPruner())
    state, seq = {}, 0
    result, milestone = {}, []
    top_step = math.ceil(top[1] * steps) if top else None

    def start(i, now):
        nonlocal seq
        state[i] = {"t0": now, "seq": seq, "next": 0, "rule": False, "top": False,
                    "trial": study.ask()}
        seq += 1

    def next_step(i):
        j, s = jobs[i], state[i]
        k = j["steps"]
        if s["next"] < len(j["eval_step"]):
            k = min(k, j["eval_step"][s["next"]])
        if use_rules and not s["rule"] and 0 <= j["rule_step"] < k:
            k = j["rule_step"]
        return k

    queue = list(order)
    while queue and len(state) < parallel:
        start(queue.pop(0), 0.0)
    while state:
        i = min(state, key=lambda i: (state[i]["t0"] + next_step(i) * jobs[i]["wall_per_step"],
                                      state[i]["seq"]))
        j, s = jobs[i], state[i]
        k = next_step(i)
        now = s["t0"] + k * j["wall_per_step"]
        stop = None
        if use_rules and not s["rule"] and j["rule_step"] == k:
            s["rule"] = True
            if k < j["steps"]:
                stop = "stopped by rule"
        if stop is None and s["next"] < len(j["eval_step"]) and j["eval_step"][s["next"]] == k:
            v = j["eval_value"][s["next"]]
            s["next"] += 1
            if pruner is not None:
                s["trial"].report(float("nan") if v is None else v, k)
                if k < j["steps"] and s["trial"].should_prune():
                    stop = "pruned"
            if stop is None and top and k < j["steps"] and not s["top"] and k >= top_step:
                s["top"] = True
                x = math.inf if v is None else v
                if sum(1 for y in milestone if y < x) >= top[0]:
                    stop = "stopped by top-K"
                milestone.append(x)
        if stop is None and k < j["steps"]:
            continue
        status = stop or ("completed" if j["completed"] else "failed")
        last = None
        for st, v in zip(j["eval_step"], j["eval_value"]):
            if st <= k:
                last = v
        if status == "completed":
            study.tell(s["trial"], last if last is not None else float("nan"))
        elif status == "pruned":
            study.tell(s["trial"], state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(s["trial"], state=optuna.trial.TrialState.FAIL)
        result[j["job"]] = (status, k, last)
        del state[i]
        if queue:
            start(queue.pop(0), now)
    return result


def figures(d, jobs, results, each=False):
    full = sum(j["steps"] * j["cpu_per_step"] for j in jobs)
    final = {j["job"]: (j["eval_value"][-1] if j["completed"] and j["eval_value"] else None)
             for j in jobs}
    best = d["best_job"]
    saved, regret, lost = [], [], 0
    for res in results:
        used = sum(res[j["job"]][1] * j["cpu_per_step"] for j in jobs)
        done = [(v, n) for n, (st, k, v) in res.items() if st == "completed" and v is not None]
        chosen = min(done)[0] if done else math.inf
        saved.append(1 - used / full)
        regret.append((chosen - final[best]) / abs(final[best]))
        lost += res[best][0] != "completed"
    n = len(results)
    if each:
        return {"compute_saved": saved[0], "regret": regret[0], "best_stopped": lost}
    return (f"saved {100 * sum(saved) / n:.1f} % (min {100 * min(saved):.1f}, max "
            f"{100 * max(saved):.1f}), regret {100 * sum(regret) / n:.2f} % (max "
            f"{100 * max(regret):.2f}), best stopped {lost} of {n}")


def main():
    d = json.load(open(sys.argv[1]))
    only = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--arm" else None
    jobs = d["jobs"]
    index = {j["job"]: i for i, j in enumerate(jobs)}
    orders = [[index[n] for n in sh["order"]] for sh in d["arms"][0]["shuffles"]]
    if only:
        rules = only.startswith("rules")
        spec = only[6:] if only.startswith("rules+") else ("none" if rules else only)
        res = [play(jobs, o, d["parallel"], make_pruner(spec, d["eval_interval"]), rules)
               for o in orders]
        print(f"Optuna {only}: {figures(d, jobs, res)}")
        return 0
    bad = compared = 0
    for arm in d["arms"]:
        spec = arm["arm"]
        rules = spec.startswith("rules")
        spec = spec[6:] if spec.startswith("rules+") else ("none" if rules else spec)
        top = None
        if spec.startswith("top:"):
            k, *at = spec[4:].split(",at=")
            top, spec = (int(k), float(at[0]) if at else 0.1), "none"
        pruner = make_pruner(spec, d["eval_interval"])
        for sh, order in zip(arm["shuffles"], orders):
            mine = play(jobs, order, d["parallel"], pruner, rules, top, d["steps_per_job"])
            f = figures(d, jobs, [mine], each=True)
            for key, mv in f.items():
                compared += 1
                sv = math.inf if sh[key] is None else sh[key]
                if not math.isclose(mv, sv, rel_tol=1e-9, abs_tol=1e-9):
                    bad += 1
                    print(f"{arm['arm']}: order {sh['order']}: {key} vsim {sh[key]}, here {mv}")
            for r in sh["jobs"]:
                compared += 1
                st, k, _ = mine[r["job"]]
                if (st, k) != (r["status"], r["steps"]):
                    bad += 1
                    if bad <= 10:
                        print(f"{arm['arm']}: order {sh['order']}: job {r['job']}: vsim "
                              f"{r['status']} at {r['steps']}, Optuna {st} at {k}")
    print(f"{compared} job outcomes and figures compared, {bad} differ")
    return 1 if bad or not compared else 0


if __name__ == "__main__":
    sys.exit(main())
