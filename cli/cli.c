/*
 * cli/cli.c - option parsing over getopt_long driven by a vsim_opt table,
 * generated --help, and the shared error printing.
 * SPDX-License-Identifier: MIT
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vsim.h"

#define MAX_OPTS 96

#if defined(__SANITIZE_ADDRESS__)
/*
 * fontconfig keeps its configuration and pattern caches until exit (cairo's
 * toy font API never frees them): not our leaks. LeakSanitizer's hook, shared
 * by every program that draws text (vsim-plot, vsim-tsne, vsim-render --sheet).
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig\n";
}
#endif
#define OPT_HELP 1000
#define OPT_VERSION 1001

static void print_help(const vsim_cli *cli, const vsim_opt *opts)
{
    printf("Usage: %s %s\n%s\n\nOptions:\n", cli->prog, cli->usage, cli->summary);
    for (const vsim_opt *o = opts; o->type != VSIM_OPT_T_END; o++) {
        char left[96];
        int n = 0;

        if (o->short_name)
            n = snprintf(left, sizeof(left), "-%c, ", o->short_name);
        else
            n = snprintf(left, sizeof(left), "    ");
        snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s", o->long_name,
                 o->argname ? " " : "", o->argname ? o->argname : "");
        if (strlen(left) > 26)
            printf("  %s\n  %-26s %s\n", left, "", o->help);
        else
            printf("  %-26s %s\n", left, o->help);
    }
    printf("  %-26s %s\n  %-26s %s\n", "    --help", "show this help and exit",
           "    --version", "show the version and exit");
    if (cli->footer)
        printf("\n%s", cli->footer);
    printf("\nExit status: 0 ok, 1 error, 2 usage error, 3 a finding, 4 partial "
           "(corrupt input skipped).\n");
}

void vsim_cli_usage_error(const vsim_cli *cli, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: usage error: ", cli->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", cli->prog);
    exit(VSIM_EXIT_USAGE);
}

static int parse_long(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void apply(const vsim_cli *cli, const vsim_opt *o, const char *arg)
{
    long long v;
    char *end;

    switch (o->type) {
    case VSIM_OPT_T_FLAG:
        *(int *)o->value = 1;
        break;
    case VSIM_OPT_T_INT:
        if (parse_long(arg, -2147483647LL, 2147483647LL, &v))
            vsim_cli_usage_error(cli, "--%s: '%s' is not an integer", o->long_name, arg);
        *(int *)o->value = (int)v;
        break;
    case VSIM_OPT_T_INT64:
        if (parse_long(arg, INT64_MIN, INT64_MAX, &v))
            vsim_cli_usage_error(cli, "--%s: '%s' is not an integer", o->long_name, arg);
        *(int64_t *)o->value = v;
        break;
    case VSIM_OPT_T_DOUBLE:
        errno = 0;
        *(double *)o->value = strtod(arg, &end);
        if (errno || end == arg || *end)
            vsim_cli_usage_error(cli, "--%s: '%s' is not a number", o->long_name, arg);
        break;
    case VSIM_OPT_T_STRING:
        *(const char **)o->value = arg;
        break;
    case VSIM_OPT_T_CALLBACK:
        if (o->cb(o, arg))
            vsim_cli_usage_error(cli, "--%s: bad value '%s'", o->long_name, arg ? arg : "");
        break;
    default:
        break;
    }
}

void vsim_cli_parse(const vsim_cli *cli, const vsim_opt *opts, int argc, char **argv,
                    int *first_arg)
{
    struct option longs[MAX_OPTS + 3];
    char shorts[3 * MAX_OPTS + 2];
    size_t n = 0, ns = 0;
    int c, n_args;

    shorts[ns++] = '+';  /* stop at the first positional? no: permute, but allow '--' */
    ns = 0;
    for (const vsim_opt *o = opts; o->type != VSIM_OPT_T_END; o++, n++) {
        VSIM_ASSERT(n < MAX_OPTS);
        longs[n].name = o->long_name;
        longs[n].has_arg = o->argname ? required_argument : no_argument;
        longs[n].flag = NULL;
        longs[n].val = 2000 + (int)n;
        if (o->short_name) {
            shorts[ns++] = (char)o->short_name;
            if (o->argname)
                shorts[ns++] = ':';
        }
    }
    shorts[ns] = '\0';
    longs[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
    longs[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
    longs[n] = (struct option){ NULL, 0, NULL, 0 };
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        const vsim_opt *o = NULL;

        if (c == OPT_HELP) {
            print_help(cli, opts);
            exit(VSIM_EXIT_OK);
        }
        if (c == OPT_VERSION) {
            printf("%s (vsim) %s\n", cli->prog, VSIM_VERSION);
            exit(VSIM_EXIT_OK);
        }
        if (c == '?' || c == ':') {
            if (optopt >= 2000 || (optopt == 0 && argv[optind - 1]))
                vsim_cli_usage_error(cli, "unknown option or missing value: '%s'",
                                     argv[optind - 1]);
            vsim_cli_usage_error(cli, "unknown option or missing value: '-%c'", optopt);
        }
        if (c >= 2000)
            o = &opts[c - 2000];
        else
            for (const vsim_opt *p = opts; p->type != VSIM_OPT_T_END; p++)
                if (p->short_name == c)
                    o = p;
        VSIM_ASSERT(o);
        apply(cli, o, optarg);
    }
    n_args = argc - optind;
    if (n_args < cli->min_args)
        vsim_cli_usage_error(cli, "expected %s", cli->usage);
    if (cli->max_args >= 0 && n_args > cli->max_args)
        vsim_cli_usage_error(cli, "unexpected argument '%s'", argv[optind + cli->max_args]);
    *first_arg = optind;
}

int vsim_cli_error(const char *prog)
{
    fprintf(stderr, "%s: error: %s\n", prog, vsim_errmsg());
    return VSIM_EXIT_ERROR;
}

void vsim_cli_warn(const char *prog, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: warning: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int vsim_cli_quiet(void)
{
    return getenv("VSIM_QUIET") != NULL || !isatty(STDERR_FILENO);
}

static char sigbus_msg[256];
static size_t sigbus_len;

/* A mapped file's page past its end (BUS_ADRERR): the message and exit 1;
 * any other SIGBUS gets its default action. Async-signal-safe. */
static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (si && si->si_code == BUS_ADRERR) {
        ssize_t w = write(STDERR_FILENO, sigbus_msg, sigbus_len);

        (void)w;
        _exit(1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void vsim_cli_sigbus(const char *prog)
{
    struct sigaction sa;
    int n = snprintf(sigbus_msg, sizeof(sigbus_msg), "%s: a shard shrank while it was mapped "
                     "(shards must not change once written); stopping\n", prog);

    sigbus_len = n > 0 && (size_t)n < sizeof(sigbus_msg) ? (size_t)n : 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

void vsim_cli_omp_passive(char **argv)
{
    const char *pre = getenv("LD_PRELOAD"), *b0, *b1;
    char exe[4096];
    ssize_t k;

    if (getenv("VSIM_OMP_PASSIVE")) {
        /* the re-executed process: libgomp has read the policy; children
         * (rule actions, gnuplot) get the user's environment back */
        unsetenv("VSIM_OMP_PASSIVE");
        unsetenv("OMP_WAIT_POLICY");
        return;
    }
    if (getenv("OMP_WAIT_POLICY") || !argv || !argv[0] || (pre && strstr(pre, "vgpreload")))
        return;         /* set by the user, or running under valgrind (which must stay) */
    /* only when the executable is this program, not a loader (ld.so) running it */
    k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (k <= 0)
        return;
    exe[k] = '\0';
    b0 = strrchr(argv[0], '/');
    b1 = strrchr(exe, '/');
    if (strcmp(b0 ? b0 + 1 : argv[0], b1 ? b1 + 1 : exe))
        return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    setenv("VSIM_OMP_PASSIVE", "1", 1);
    execv(exe, argv);                   /* returns only on failure: carry on */
    unsetenv("VSIM_OMP_PASSIVE");
    unsetenv("OMP_WAIT_POLICY");
}
