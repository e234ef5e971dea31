# rules/: smdebug-compatible built-in rules, live watching, actions (issue 8).
LIB_SRCS += rules/engine.c rules/run.c rules/util.c rules/loss.c rules/grad.c rules/tensor.c \
            rules/act.c rules/embed.c
PROGS += vsim-rules
UNIT_TESTS += test_rules
HELPERS += rules-mkrun
BENCHES += bench_rules
MANPAGES += docs/man/vsim-rules.1
