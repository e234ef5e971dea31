#!/usr/bin/python3
"""tests/sweep/optuna_replay.py - the differential test of vsim's pruners against
Optuna's own (Debian's python3-optuna 3.1): random asynchronous studies (trials
that start, report at irregular steps, complete, get pruned or fail, several
running at once, NaN values, repeated steps) are played through Optuna's
MedianPruner / PercentilePruner / SuccessiveHalvingPruner with ask/report/
should_prune/tell, and the same event stream through vsim's (study-replay);
every decision must be the same.  Usage: optuna_replay.py STUDY_REPLAY [N_STUDIES]
"""
import random, subprocess, sys, warnings
import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.simplefilter("ignore")

ARMS = [
    ("median", lambda: optuna.pruners.MedianPruner()),
    ("median,startup=2,warmup=3,interval=2",
     lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=3, interval_steps=2)),
    ("percentile:25,startup=1,min_trials=2",
     lambda: optuna.pruners.PercentilePruner(25.0, n_startup_trials=1, n_min_trials=2)),
    ("percentile:80,startup=3,warmup=1",
     lambda: optuna.pruners.PercentilePruner(80.0, n_startup_trials=3, n_warmup_steps=1)),
    ("asha,min_resource=1,rf=2",
     lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)),
    ("asha,min_resource=2,rf=3,rate=1",
     lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=3,
                                                     min_early_stopping_rate=1)),
]


def play(rng, pruner):
    """One study; returns (event lines, Optuna's decisions)."""
    study = optuna.create_study(pruner=pruner, direction="minimize")
    events, decisions, live = [], [], {}
    n_trials = rng.randint(4, 14)
    started = 0
    while started < n_trials or live:
        if started < n_trials and (not live or rng.random() < 0.3):
            t = study.ask()
            live[started] = (t, rng.uniform(0.5, 2.0), 0, rng.choice([1, 1, 2, 3]))
            events.append("add")
            started += 1
            continue
        tid = rng.choice(list(live))
        t, level, step, stride = live[tid]
        r = rng.random()
        if r < 0.06:
            events.append(f"state {tid} fail")
            study.tell(t, state=optuna.trial.TrialState.FAIL)
            del live[tid]
            continue
        if step > 12 or (step > 2 and r < 0.12):
            events.append(f"state {tid} complete")
            study.tell(t, level)
            del live[tid]
            continue
        v = level * (1.0 + 1.0 / (1 + step)) + rng.gauss(0, 0.05)
        if rng.random() < 0.04:
            v = float("nan")
        v = round(v, 3) if rng.random() < 0.5 else v   # ties, too
        rep = step if rng.random() > 0.05 or step == 0 else step - stride   # a repeated step
        t.report(v, rep)
        events.append(f"report {tid} {rep} {v!r}")
        prune = t.should_prune()
        decisions.append(f"{tid} {rep} {'prune' if prune else 'keep'}")
        if prune:
            events.append(f"state {tid} pruned")
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
            del live[tid]
        else:
            live[tid] = (t, level, step + stride, stride)
    return events, decisions


def main():
    exe = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    rng = random.Random(20261204)
    total = pruned = bad = 0
    for spec, make in ARMS:
        for k in range(n):
            events, want = play(rng, make())
            text = "".join(e.replace("nan", "nan") + "\n" for e in events)
            got = subprocess.run([exe, spec], input=text, capture_output=True, text=True,
                                 check=True).stdout.split("\n")[:-1]
            total += len(want)
            pruned += sum(w.endswith("prune") for w in want)
            if got != want:
                bad += 1
                for i, (g, w) in enumerate(zip(got, want)):
                    if g != w:
                        print(f"{spec} study {k}: decision {i}: vsim '{g}', Optuna '{w}'")
                        break
                else:
                    print(f"{spec} study {k}: {len(got)} decisions against {len(want)}")
    print(f"{len(ARMS) * n} studies, {total} decisions ({pruned} prunes), {bad} studies differ")
    sys.exit(1 if bad or pruned == 0 else 0)


main()
