/*
 * reports/page.c - the report page (issue 20): the server-side HTML (summary,
 * tables, image strips, the print gallery, what is missing) that reads without
 * JavaScript and prints, the charts' data in <script type="application/json">
 * blocks, and the inline CSS and JavaScript that draw the charts on canvases.
 * Every string from a run goes through vsim_html_text or vsim_html_json.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "reports/html.h"
#include "reports/report_int.h"

#define T(b, s) vsim_html_text((b), (s))

static void num(vsim_buf *b, const json_t *v, const char *fmt)
{
    if (json_is_number(v))
        vsim_buf_addf(b, fmt, json_number_value(v));
    else
        vsim_buf_adds(b, "&ndash;");
}

static void value_text(vsim_buf *b, const json_t *v)
{
    char *s;

    if (json_is_string(v)) {
        T(b, json_string_value(v));
    } else if (json_is_integer(v)) {
        vsim_buf_addf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        vsim_buf_addf(b, "%.6g", json_real_value(v));
    } else if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER))) {
        T(b, s);
        free(s);
    }
}

static const char *run_name(const report_run *r)
{
    const char *id = json_string_value(json_object_get(r->summary, "run_id"));

    return id ? id : r->dir;
}

/* ---- summary ---------------------------------------------------------------------------- */

static void status_html(vsim_buf *b, const report_run *r)
{
    const char *st = json_string_value(json_object_get(r->summary, "status"));
    json_t *by = json_object_get(r->summary, "stopped_by");

    vsim_buf_addf(b, "<span class=\"status status-%s\">", st ? st : "unknown");
    T(b, st ? st : "unknown");
    vsim_buf_adds(b, "</span>");
    if (json_is_object(by)) {
        const char *rule = json_string_value(json_object_get(by, "rule"));

        vsim_buf_adds(b, " by ");
        if (rule && *rule) {
            vsim_buf_adds(b, "rule <b>");
            T(b, rule);
            vsim_buf_addf(b, "</b> at step %lld: ",
                          (long long)json_integer_value(json_object_get(by, "step")));
        } else {
            vsim_buf_adds(b, "a person (STOP file): ");
        }
        T(b, json_string_value(json_object_get(by, "message")) ?: "");
    } else if (json_is_string(by)) {
        vsim_buf_adds(b, " by ");
        T(b, json_string_value(by));
    }
}

/* One figure row of the summary table (best/final of a series figure). */
static const char *figure_rows[][3] = {
    { "train_loss", "train loss", "low" }, { "eval_loss", "eval loss", "low" },
    { "ssim", "SSIM", "high" }, { "psnr", "PSNR (dB)", "high" },
};
static const char *quality_rows[][3] = {
    { "knn_accuracy", "10-NN label accuracy", "high" },
    { "trustworthiness", "trustworthiness", "high" },
    { "nn_preservation", "10-NN preservation", "high" },
    { "kl", "KL divergence", "low" },
};

static double figure(const report_run *r, const char *key, const char *which)
{
    json_t *f = json_object_get(json_object_get(r->summary, "figures"), key);

    return json_is_number(json_object_get(f, which))
               ? json_number_value(json_object_get(f, which)) : (double)NAN;
}

static double quality(const report_run *r, const char *key)
{
    json_t *v = json_object_get(json_object_get(r->summary, "embedding"), key);

    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* The index of the best finite value of v[0..n), -1 if none or n < 2. */
static int best_of(const double *v, size_t n, int high)
{
    int best = -1;

    for (size_t i = 0; n > 1 && i < n; i++)
        if (isfinite(v[i]) && (best < 0 || (high ? v[i] > v[best] : v[i] < v[best])))
            best = (int)i;
    return best;
}

static void figure_row(vsim_buf *b, const char *label, const double *v, size_t n, int high,
                       const char *fmt)
{
    int best = best_of(v, n, high);

    vsim_buf_addf(b, "<tr><th scope=\"row\">%s</th>", label);
    for (size_t i = 0; i < n; i++) {
        vsim_buf_addf(b, "<td%s>", (int)i == best ? " class=\"best\"" : "");
        if (isfinite(v[i]))
            vsim_buf_addf(b, fmt, v[i]);
        else
            vsim_buf_adds(b, "&ndash;");
        if ((int)i == best)
            vsim_buf_adds(b, " <span class=\"mark\" title=\"best\">&#9733;</span>");
        vsim_buf_adds(b, "</td>");
    }
    vsim_buf_adds(b, "</tr>");
}

static void figures_table(vsim_buf *b, report_run *runs, size_t n)
{
    double v[64] = { 0 };

    n = n < 64 ? n : 64;
    vsim_buf_adds(b, "<table class=\"figures\"><thead><tr><th></th>");
    for (size_t i = 0; i < n; i++) {
        vsim_buf_adds(b, "<th scope=\"col\">");
        T(b, run_name(&runs[i]));
        vsim_buf_adds(b, "</th>");
    }
    vsim_buf_adds(b, "</tr></thead><tbody><tr><th scope=\"row\">status</th>");
    for (size_t i = 0; i < n; i++) {
        vsim_buf_adds(b, "<td>");
        status_html(b, &runs[i]);
        vsim_buf_adds(b, "</td>");
    }
    vsim_buf_adds(b, "</tr><tr><th scope=\"row\">steps (last)</th>");
    for (size_t i = 0; i < n; i++) {
        vsim_buf_adds(b, "<td>");
        num(b, json_object_get(json_object_get(runs[i].summary, "steps"), "complete"), "%.0f");
        vsim_buf_adds(b, " (");
        num(b, json_object_get(runs[i].summary, "last_step"), "%.0f");
        vsim_buf_adds(b, ")</td>");
    }
    vsim_buf_adds(b, "</tr>");
    for (size_t i = 0; i < n; i++)
        v[i] = json_number_value(json_object_get(runs[i].summary, "wall_time_s"));
    figure_row(b, "wall time (s)", v, n, 0, "%.1f");
    for (size_t i = 0; i < n; i++)
        v[i] = json_is_number(json_object_get(runs[i].summary, "images_per_s"))
                   ? json_number_value(json_object_get(runs[i].summary, "images_per_s")) : (double)NAN;
    figure_row(b, "images/s", v, n, 1, "%.1f");
    for (size_t f = 0; f < VSIM_ARRAY_LEN(figure_rows); f++) {
        char label[96];
        int high = !strcmp(figure_rows[f][2], "high");

        for (size_t i = 0; i < n; i++)
            v[i] = figure(&runs[i], figure_rows[f][0], "final");
        snprintf(label, sizeof(label), "final %s", figure_rows[f][1]);
        figure_row(b, label, v, n, high, "%.6g");
        for (size_t i = 0; i < n; i++)
            v[i] = figure(&runs[i], figure_rows[f][0], "best");
        snprintf(label, sizeof(label), "best %s", figure_rows[f][1]);
        figure_row(b, label, v, n, high, "%.6g");
    }
    for (size_t f = 0; f < VSIM_ARRAY_LEN(quality_rows); f++) {
        for (size_t i = 0; i < n; i++)
            v[i] = quality(&runs[i], quality_rows[f][0]);
        figure_row(b, quality_rows[f][1], v, n, !strcmp(quality_rows[f][2], "high"), "%.4f");
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_number_value(json_object_get(json_object_get(runs[i].summary, "rules"),
                                                 "n_fired"));
    figure_row(b, "rules fired", v, n, 0, "%.0f");
    vsim_buf_adds(b, "</tbody></table>");
}

static void hyper_table(vsim_buf *b, const report_run *r)
{
    json_t *hp = json_object_get(r->summary, "hyperparameters"), *v;
    const char *k;

    vsim_buf_adds(b, "<details class=\"hp\" open><summary>Hyper-parameters</summary>"
                     "<table class=\"kv\"><tbody>");
    json_object_foreach(hp, k, v) {
        vsim_buf_adds(b, "<tr><th scope=\"row\">");
        T(b, k);
        vsim_buf_adds(b, "</th><td>");
        value_text(b, v);
        vsim_buf_adds(b, "</td></tr>");
    }
    vsim_buf_adds(b, "</tbody></table></details>");
}

static void rules_table(vsim_buf *b, const report_run *r)
{
    json_t *rules = json_object_get(r->summary, "rules"), *v;
    size_t i;

    vsim_buf_adds(b, "<h3>Rule verdicts <small>(");
    T(b, json_string_value(json_object_get(rules, "source")) ?: "");
    vsim_buf_adds(b, ")</small></h3><table class=\"rules sortable\"><thead><tr><th>rule</th>"
                     "<th>result</th><th>fired</th><th>first step</th><th>message</th>"
                     "</tr></thead><tbody>");
    json_array_foreach(json_object_get(rules, "verdicts"), i, v) {
        int fired = json_is_true(json_object_get(v, "fired"));

        vsim_buf_addf(b, "<tr class=\"%s\"><td>", fired ? "fired" : "ok");
        T(b, json_string_value(json_object_get(v, "rule")) ?: "");
        vsim_buf_addf(b, "</td><td>%s</td><td>", fired ? "&#9888; fired" : "not fired");
        num(b, json_object_get(v, "n_fired"), "%.0f");
        vsim_buf_adds(b, "</td><td>");
        num(b, json_object_get(v, "first_step"), "%.0f");
        vsim_buf_adds(b, "</td><td>");
        T(b, json_string_value(json_object_get(v, "message")) ?: "");
        vsim_buf_adds(b, "</td></tr>");
    }
    vsim_buf_adds(b, "</tbody></table>");
}

static void model_table(vsim_buf *b, const report_run *r)
{
    json_t *m = json_object_get(r->summary, "model"), *l;
    size_t i;

    if (!json_is_object(m))
        return;
    vsim_buf_adds(b, "<details class=\"model\"><summary>Model: ");
    num(b, json_object_get(m, "n_params"), "%.0f");
    vsim_buf_adds(b, " parameters</summary><table class=\"sortable\"><thead><tr><th>layer</th>"
                     "<th>type</th><th>output</th><th>parameters</th><th>share</th></tr>"
                     "</thead><tbody>");
    json_array_foreach(json_object_get(m, "layers"), i, l) {
        vsim_buf_adds(b, "<tr><td>");
        value_text(b, json_object_get(l, "name"));
        vsim_buf_adds(b, "</td><td>");
        value_text(b, json_object_get(l, "kind"));
        vsim_buf_adds(b, "</td><td>");
        value_text(b, json_object_get(l, "out"));
        vsim_buf_adds(b, "</td><td class=\"n\">");
        num(b, json_object_get(l, "params"), "%.0f");
        vsim_buf_adds(b, "</td><td class=\"n\">");
        num(b, json_object_get(l, "share"), "%.4f");
        vsim_buf_adds(b, "</td></tr>");
    }
    vsim_buf_adds(b, "</tbody></table></details>");
}

static void missing_list(vsim_buf *b, const report_run *r, const char *section)
{
    json_t *m;
    size_t i;

    json_array_foreach(r->missing, i, m) {
        if (strcmp(json_string_value(json_object_get(m, "section")), section))
            continue;
        vsim_buf_adds(b, "<p class=\"missing\" data-missing=\"");
        T(b, section);
        vsim_buf_adds(b, "\">");
        if (r->dir) {
            T(b, run_name(r));
            vsim_buf_adds(b, ": ");
        }
        T(b, json_string_value(json_object_get(m, "message")));
        vsim_buf_adds(b, "</p>");
    }
}

static void summary_section(vsim_buf *b, report_run *runs, size_t n)
{
    vsim_buf_adds(b, "<section id=\"summary\"><h2>Summary</h2>");
    for (size_t i = 0; i < n; i++)
        missing_list(b, &runs[i], "run");
    figures_table(b, runs, n);
    for (size_t i = 0; i < n; i++) {
        vsim_buf_adds(b, "<div class=\"run-summary\"><h3>");
        T(b, run_name(&runs[i]));
        vsim_buf_adds(b, " <small>");
        T(b, runs[i].dir);
        vsim_buf_adds(b, "</small></h3>");
        missing_list(b, &runs[i], "summary");
        hyper_table(b, &runs[i]);
        rules_table(b, &runs[i]);
        missing_list(b, &runs[i], "rules");
        model_table(b, &runs[i]);
        missing_list(b, &runs[i], "model");
        vsim_buf_adds(b, "</div>");
    }
    vsim_buf_adds(b, "</section>");
}

/* ---- curves, layers, images, embeddings ------------------------------------------------- */

static void curves_section(vsim_buf *b, report_run *runs, size_t n)
{
    vsim_buf_adds(b, "<section id=\"curves\"><h2>Curves</h2>"
                     "<div class=\"controls\"><label><input type=\"checkbox\" id=\"curve-log\">"
                     " log scale</label> <label>smoothing <input type=\"range\" "
                     "id=\"curve-smooth\" min=\"0\" max=\"0.99\" step=\"0.01\" value=\"0\">"
                     "</label> <output id=\"curve-smooth-v\">0</output></div>"
                     "<div id=\"curve-charts\" class=\"grid\"></div>");
    for (size_t i = 0; i < n; i++)
        missing_list(b, &runs[i], "curves");
    vsim_buf_adds(b, "<details class=\"alt\"><summary>Curves as a table</summary>"
                     "<table class=\"sortable\" id=\"curve-table\"><thead><tr><th>run</th>"
                     "<th>series</th><th>mode</th><th>points</th><th>first</th><th>last</th>"
                     "<th>min</th><th>max</th></tr></thead><tbody></tbody></table></details>"
                     "</section>");
}

static void layer_rows(vsim_buf *b, const report_run *r, size_t run)
{
    json_t *row;
    json_t *dead = json_object_get(r->data, "dead_units");
    size_t i;

    json_array_foreach(json_object_get(r->summary, "layers"), i, row) {
        const char *tensor = json_string_value(json_object_get(row, "tensor"));
        const char *layer = json_string_value(json_object_get(row, "layer"));
        json_t *d = layer ? json_object_get(dead, layer) : NULL;
        static const char *cols[] = { "count", "mean", "std", "min", "max", "l2", "p5", "p50",
                                      "p95" };

        vsim_buf_adds(b, "<tr><td>");
        T(b, tensor);
        vsim_buf_adds(b, "</td><td>");
        T(b, json_string_value(json_object_get(row, "collections")) ?: "");
        vsim_buf_adds(b, "</td>");
        for (size_t c = 0; c < VSIM_ARRAY_LEN(cols); c++) {
            json_t *v = json_object_get(row, cols[c]);

            vsim_buf_adds(b, "<td class=\"n\"");
            if (json_is_number(v))
                vsim_buf_addf(b, " data-v=\"%.17g\"", json_number_value(v));
            vsim_buf_adds(b, ">");
            num(b, v, c ? "%.4g" : "%.0f");
            vsim_buf_adds(b, "</td>");
        }
        vsim_buf_adds(b, "<td class=\"n\">");
        if (d && strstr(json_string_value(json_object_get(row, "collections")) ?: "", "weights"))
            vsim_buf_addf(b, "%.1f%%", 100.0 * json_number_value(d));
        else
            vsim_buf_adds(b, "&ndash;");
        vsim_buf_adds(b, "</td><td><canvas class=\"spark\" width=\"120\" height=\"24\" "
                         "data-tensor=\"");
        T(b, tensor);
        vsim_buf_addf(b, "\" data-run=\"%zu\"></canvas></td></tr>", run);
    }
}

static void layers_section(vsim_buf *b, report_run *runs, size_t n)
{
    vsim_buf_adds(b, "<section id=\"layers\"><h2>Layers</h2>");
    for (size_t i = 0; i < n; i++) {
        report_run *r = &runs[i];

        vsim_buf_adds(b, "<div class=\"run-layers\" data-run-index=\"");
        vsim_buf_addf(b, "%zu\"><h3>", i);
        T(b, run_name(r));
        vsim_buf_adds(b, "</h3>");
        missing_list(b, r, "layers");
        if (r->step >= 0) {
            vsim_buf_addf(b, "<p>Statistics at step %lld (as <code>vsim-stats</code> computes "
                             "them); sparklines: the mean (weights) or L2 norm (gradients) "
                             "over saved steps; dead: share of units never above zero on "
                             "the probe batch.</p>", (long long)r->step);
            vsim_buf_addf(b, "<div class=\"scroll\"><table class=\"sortable layers\" "
                             "data-run=\"%zu\"><thead><tr><th>tensor</th><th>collection</th>"
                             "<th>count</th><th>mean</th><th>std</th><th>min</th><th>max</th>"
                             "<th>L2</th><th>p5</th><th>p50</th><th>p95</th><th>dead</th>"
                             "<th>over steps</th></tr></thead><tbody>", i);
            layer_rows(b, r, i);
            vsim_buf_adds(b, "</tbody></table></div>");
        }
        vsim_buf_addf(b, "<h4>Weight-update ratio and gradient norm, layer by step</h4>"
                         "<div class=\"grid\"><figure><canvas class=\"heat\" data-run=\"%zu\" "
                         "data-kind=\"update\" width=\"560\" height=\"300\" role=\"img\" "
                         "aria-label=\"weight-update ratio heat map\"></canvas><figcaption>"
                         "log10 weight-update ratio</figcaption></figure><figure><canvas "
                         "class=\"heat\" data-run=\"%zu\" data-kind=\"gradnorm\" width=\"560\" "
                         "height=\"300\" role=\"img\" aria-label=\"gradient norm heat map\">"
                         "</canvas><figcaption>log10 gradient L2 norm</figcaption></figure>"
                         "</div><h4>Distributions over steps</h4><div class=\"controls\">"
                         "<label>tensor <select class=\"band-pick\" data-run=\"%zu\"></select>"
                         "</label></div><div class=\"grid\"><figure><canvas class=\"bands\" "
                         "data-run=\"%zu\" width=\"560\" height=\"260\" role=\"img\" "
                         "aria-label=\"percentile bands\"></canvas><figcaption>percentiles "
                         "0, 7, 16, 31, 50, 69, 84, 93, 100 over steps</figcaption></figure>"
                         "<figure><canvas class=\"histo\" data-run=\"%zu\" width=\"560\" "
                         "height=\"260\" role=\"img\" aria-label=\"histogram\"></canvas>"
                         "<figcaption>histogram at step %lld</figcaption></figure></div></div>",
                      i, i, i, i, i, (long long)r->step);
    }
    vsim_buf_adds(b, "</section>");
}

static void images_section(vsim_buf *b, report_run *runs, size_t n)
{
    vsim_buf_adds(b, "<section id=\"images\"><h2>Images</h2><p>Probe inputs (top) beside "
                     "their reconstructions (bottom).</p>");
    for (size_t i = 0; i < n; i++) {
        json_t *s;
        size_t k;

        missing_list(b, &runs[i], "images");
        vsim_buf_adds(b, "<div class=\"strips\">");
        json_array_foreach(json_object_get(runs[i].data, "images"), k, s) {
            vsim_buf_addf(b, "<figure><img class=\"strip\" alt=\"%lld probe images and "
                             "reconstructions at step %lld of ",
                          (long long)json_integer_value(json_object_get(s, "n")),
                          (long long)json_integer_value(json_object_get(s, "step")));
            T(b, run_name(&runs[i]));
            vsim_buf_adds(b, "\" src=\"data:image/png;base64,");
            vsim_buf_adds(b, json_string_value(json_object_get(s, "png")));
            vsim_buf_addf(b, "\"><figcaption>step %lld</figcaption></figure>",
                          (long long)json_integer_value(json_object_get(s, "step")));
        }
        vsim_buf_adds(b, "</div>");
    }
    vsim_buf_adds(b, "</section>");
}

static void gallery_html(vsim_buf *b, const report_run *r, json_t *emb)
{
    json_t *rows = json_object_get(emb, "gallery"), *g, *names = json_object_get(emb,
                                                                                 "label_names");
    size_t i;

    if (!json_array_size(rows))
        return;
    vsim_buf_adds(b, "<h4>Nearest designs in the latent space</h4><table class=\"gallery\">"
                     "<thead><tr><th>class</th><th>query, then its 5 nearest designs</th>"
                     "</tr></thead><tbody>");
    json_array_foreach(rows, i, g) {
        json_t *png = json_object_get(g, "png");
        const char *cls = json_string_value(
            json_array_get(names, (size_t)json_integer_value(json_object_get(g, "label"))));

        (void)r;
        vsim_buf_adds(b, "<tr><th scope=\"row\" class=\"gq\" data-query=\"");
        vsim_buf_addf(b, "%lld\">", (long long)json_integer_value(json_object_get(g, "query")));
        T(b, cls ? cls : "");
        vsim_buf_adds(b, "</th><td>");
        if (json_is_string(png)) {
            vsim_buf_adds(b, "<img class=\"gstrip\" alt=\"a design and its nearest designs\" "
                             "src=\"data:image/png;base64,");
            vsim_buf_adds(b, json_string_value(png));
            vsim_buf_adds(b, "\">");
        }
        vsim_buf_adds(b, "<span class=\"gl\"></span></td></tr>");
    }
    vsim_buf_adds(b, "</tbody></table>");
}

static void embeddings_section(vsim_buf *b, report_run *runs, size_t n)
{
    vsim_buf_adds(b, "<section id=\"embeddings\"><h2>Embeddings</h2><p>t-SNE of the latent "
                     "vectors, every point drawn and coloured by label. Hover a point for its "
                     "design; click it for its nearest designs in the latent space; drag to "
                     "pan, wheel to zoom, double-click to reset.</p>");
    for (size_t i = 0; i < n; i++) {
        json_t *emb = json_object_get(runs[i].data, "embeddings");
        json_t *q = json_object_get(runs[i].summary, "embedding");
        size_t n_charts = json_array_size(json_object_get(emb, "charts"));

        vsim_buf_adds(b, "<div class=\"run-emb\"><h3>");
        T(b, run_name(&runs[i]));
        vsim_buf_adds(b, "</h3>");
        missing_list(b, &runs[i], "embeddings");
        if (json_is_object(q)) {
            vsim_buf_addf(b, "<p class=\"quality\">step %lld, %lld points: 10-NN label "
                             "accuracy %.4f, trustworthiness %.4f, 10-NN preservation %.4f, "
                             "KL %.4f</p>",
                          (long long)json_integer_value(json_object_get(q, "step")),
                          (long long)json_integer_value(json_object_get(q, "n")),
                          json_number_value(json_object_get(q, "knn_accuracy")),
                          json_number_value(json_object_get(q, "trustworthiness")),
                          json_number_value(json_object_get(q, "nn_preservation")),
                          json_number_value(json_object_get(q, "kl")));
        }
        vsim_buf_adds(b, "<div class=\"grid emb\">");
        for (size_t c = 0; c < n_charts; c++)
            vsim_buf_addf(b, "<figure class=\"scatter-fig\"><canvas class=\"scatter\" "
                             "data-run=\"%zu\" data-chart=\"%zu\" width=\"640\" height=\"520\" "
                             "role=\"img\" aria-label=\"t-SNE cluster chart\"></canvas>"
                             "<figcaption>step %lld%s</figcaption></figure>", i, c,
                          (long long)json_integer_value(json_object_get(
                              json_array_get(json_object_get(emb, "charts"), c), "step")),
                          c ? " (the first saved: clusters forming)" : "");
        vsim_buf_addf(b, "</div><div class=\"legend\" data-run=\"%zu\"></div><div "
                         "class=\"neighbors\" data-run=\"%zu\" aria-live=\"polite\"></div>",
                      i, i);
        gallery_html(b, &runs[i], emb);
        vsim_buf_adds(b, "<details class=\"alt\"><summary>Points per class</summary><table "
                         "class=\"classes sortable\" data-run=\"");
        vsim_buf_addf(b, "%zu\"><thead><tr><th>label</th><th>points</th></tr></thead><tbody>"
                         "</tbody></table></details></div>", i);
    }
    vsim_buf_adds(b, "<div id=\"tip\" class=\"tip\" hidden></div></section>");
}

static void problems_section(vsim_buf *b, report_run *runs, size_t n)
{
    size_t total = 0;

    for (size_t i = 0; i < n; i++)
        total += json_array_size(json_object_get(runs[i].summary, "problems"));
    if (!total)
        return;
    vsim_buf_addf(b, "<section id=\"problems\"><h2>Problems</h2><p>%zu file(s) could not be "
                     "read and were skipped; the rest of the run is shown.</p><ul>", total);
    for (size_t i = 0; i < n; i++) {
        json_t *p;
        size_t k;

        json_array_foreach(json_object_get(runs[i].summary, "problems"), k, p) {
            vsim_buf_adds(b, "<li><code>");
            T(b, json_string_value(json_object_get(p, "path")));
            vsim_buf_adds(b, "</code>: ");
            T(b, json_string_value(json_object_get(p, "message")));
            vsim_buf_adds(b, "</li>");
        }
    }
    vsim_buf_adds(b, "</ul></section>");
}

/* ---- the page --------------------------------------------------------------------------- */

static int data_blocks(vsim_buf *b, report_run *runs, size_t n)
{
    json_t *sum = n == 1 ? json_incref(runs[0].summary) : json_array();
    json_t *data = json_array();
    int rc;

    for (size_t i = 0; n > 1 && i < n; i++)
        json_array_append(sum, runs[i].summary);
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_copy(runs[i].data);

        json_object_set_new(d, "name", json_string(run_name(&runs[i])));
        json_array_append_new(data, d);
    }
    vsim_buf_adds(b, "<script type=\"application/json\" id=\"vsim-summary\">");
    rc = vsim_html_json(b, sum, 0);
    vsim_buf_adds(b, "</script>\n<script type=\"application/json\" id=\"vsim-data\">");
    if (!rc)
        rc = vsim_html_json(b, data, 7);
    vsim_buf_adds(b, "</script>\n");
    json_decref(sum);
    json_decref(data);
    return rc;
}

int vsim_report_page(report_run *runs, size_t n, const vsim_report_params *p, vsim_buf *b)
{
    static const char *themes[] = { "auto", "light", "dark" };
    vsim_buf title = VSIM_BUF_INIT;
    int rc;

    if (p->title)
        vsim_buf_adds(&title, p->title);
    else
        vsim_buf_addf(&title, "vsim report: %s%s", run_name(&runs[0]), n > 1 ? " and others" : "");
    vsim_buf_addf(b, "<!DOCTYPE html>\n<html lang=\"en\" data-theme=\"%s\"><head>"
                     "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width"
                     ", initial-scale=1\"><meta http-equiv=\"Content-Security-Policy\" "
                     "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                     "script-src 'unsafe-inline'\"><meta name=\"generator\" content=\"vsim-report "
                     VSIM_VERSION "\"><title>",
                  themes[p->theme >= 0 && p->theme <= 2 ? p->theme : 0]);
    T(b, title.buf);
    vsim_buf_adds(b, "</title><style>");
    vsim_buf_adds(b, vsim_report_css);
    vsim_buf_adds(b, "</style></head><body><header><h1>");
    T(b, title.buf);
    vsim_buf_addf(b, "</h1><p class=\"gen\">vsim-report " VSIM_VERSION ", %zu run%s", n,
                  n == 1 ? "" : "s");
    if (p->timestamp) {
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;

        gmtime_r(&now, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        vsim_buf_addf(b, ", written %s", ts);
    }
    vsim_buf_adds(b, "</p><nav><a href=\"#summary\">Summary</a> <a href=\"#curves\">Curves</a> "
                     "<a href=\"#layers\">Layers</a> <a href=\"#images\">Images</a> "
                     "<a href=\"#embeddings\">Embeddings</a></nav></header><main>");
    if (p->banner_html)
        vsim_buf_adds(b, p->banner_html);
    summary_section(b, runs, n);
    curves_section(b, runs, n);
    layers_section(b, runs, n);
    images_section(b, runs, n);
    embeddings_section(b, runs, n);
    problems_section(b, runs, n);
    vsim_buf_adds(b, "</main>\n");
    rc = data_blocks(b, runs, n);
    vsim_buf_adds(b, "<script>");
    vsim_buf_adds(b, vsim_report_js);
    rc = rc ? rc : vsim_buf_adds(b, "</script></body></html>\n");
    vsim_buf_release(&title);
    return rc;
}
