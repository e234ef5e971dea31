# reports/: vsim-report, the one-file offline HTML report (issue 20), and the CI
# regression gate vsim-report --baseline/--candidate (issue 14).
# The page's CSS and JavaScript live in reports/assets/ and are compiled in as C
# strings (scripts/embed.sh), so the program needs no file at run time.
LIB_SRCS += reports/html.c reports/collect.c reports/embed.c reports/page.c reports/report.c \
            reports/gate.c
GEN_SRCS += $(BUILD)/gen/report_assets.c
PROGS += vsim-report
UNIT_TESTS += test_report
HELPERS += report-mkrun
MANPAGES += docs/man/vsim-report.1

$(BUILD)/gen/report_assets.c: reports/assets/report.js reports/assets/report.css scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh $@ vsim_report_js reports/assets/report.js vsim_report_css \
	    reports/assets/report.css
