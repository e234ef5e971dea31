#!/usr/bin/python3
"""tests/sweep/journal_optuna.py - replay a recorded sweep's journal (SWEEP/sweep.jsonl)
through Optuna's own pruner and check that the driver took the same decisions:
each job a trial (ask at "start"), each evaluation reported while the job had no
decision, should_prune() asked where the driver judged, the trial told at "end"
(completed: COMPLETE with its last value; pruned: PRUNED; anything else: FAIL).
Usage: journal_optuna.py SWEEP PRUNER-ARGS-AS-PYTHON [minimize|maximize]
(e.g. "n_startup_trials=2")
Prints the number of decisions compared; exit 1 on the first disagreement."""
import json, math, sys, warnings
import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.simplefilter("ignore")
sweep, kwargs = sys.argv[1], eval("dict(" + sys.argv[2] + ")")
direction = sys.argv[3] if len(sys.argv) > 3 else "minimize"
study = optuna.create_study(pruner=optuna.pruners.MedianPruner(**kwargs), direction=direction)
trials, decided, last, n, prunes = {}, set(), {}, 0, 0
optuna_prunes = {}
for line in open(sweep + "/sweep.jsonl"):
    e = json.loads(line)
    job, ev = e.get("job"), e["event"]
    if ev == "start":
        trials[job] = study.ask()
    elif ev == "eval" and job not in decided:
        v = e["value"] if e["value"] is not None else math.nan
        trials[job].report(v, e["step"])
        last[job] = v
        if e["judged"]:
            n += 1
            if trials[job].should_prune():
                optuna_prunes[job] = e["step"]
                decided.add(job)   # Optuna's trial would stop reporting here
    elif ev == "decision":
        if e["by"] == "median":
            prunes += 1
            if optuna_prunes.get(job) != e["step"]:
                sys.exit(f"{job}: vsim pruned at step {e['step']}, Optuna at "
                         f"{optuna_prunes.get(job)}")
        decided.add(job)
    elif ev == "end":
        st = e["status"]
        if st == "completed":
            study.tell(trials[job], last.get(job, 0.0))
        else:
            study.tell(trials[job], state=optuna.trial.TrialState.PRUNED if st == "pruned"
                       else optuna.trial.TrialState.FAIL)
mine = {}
for line in open(sweep + "/sweep.jsonl"):
    e = json.loads(line)
    if e["event"] == "decision" and e["by"] == "median":
        mine[e["job"]] = e["step"]
if mine != optuna_prunes:
    sys.exit(f"prunes differ: vsim {mine}, Optuna {optuna_prunes}")
print(f"{n} judged evaluations, {prunes} prunes, the same as Optuna's")
