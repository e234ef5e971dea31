/*
 * tests/unit/test_report.c - the report's escaping (HTML text and attributes,
 * JSON inside <script>) and base64 against RFC 4648's test vectors.
 * SPDX-License-Identifier: MIT
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "reports/html.h"
#include "tests/vt.h"

static void test_text(void)
{
    vsim_buf b = VSIM_BUF_INIT;

    VT_CHECK(!vsim_html_text(&b, "a<b>&\"c'</script>"), "escape ok");
    VT_CHECK(!strcmp(b.buf, "a&lt;b&gt;&amp;&quot;c&#39;&lt;/script&gt;"), "html escaped");
    vsim_buf_reset(&b);
    VT_CHECK(!vsim_html_text(&b, "plain text") && !strcmp(b.buf, "plain text"), "plain kept");
    vsim_buf_reset(&b);
    VT_CHECK(!vsim_html_text(&b, "") && b.len == 0, "empty");
    vsim_buf_release(&b);
}

static void test_json(void)
{
    vsim_buf b = VSIM_BUF_INIT;
    json_t *v = json_pack("{s:s,s:f}", "name", "</script><script>x()</script><!-- & \xe2\x80\xa8",
                          "x", 0.1);
    json_t *back;

    VT_CHECK(!vsim_html_json(&b, v, 0), "json ok");
    VT_CHECK(!strstr(b.buf, "<") && !strstr(b.buf, ">") && !strstr(b.buf, "&"),
             "no < > & left in the script block");
    VT_CHECK(strstr(b.buf, "\\u003c/script\\u003e") != NULL, "</script> written as \\u003c");
    VT_CHECK(strstr(b.buf, "\\u2028") != NULL, "U+2028 escaped");
    back = json_loads(b.buf, 0, NULL);
    VT_CHECK(back && json_equal(back, v), "parses back to the same value");
    json_decref(back);
    vsim_buf_reset(&b);
    VT_CHECK(!vsim_html_json(&b, json_object_get(v, "x"), 3) && !strcmp(b.buf, "0.1"),
             "precision");
    json_decref(v);
    vsim_buf_release(&b);
}

static void test_base64(void)
{
    static const char *vec[][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
                                    { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
                                    { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } };
    vsim_buf b = VSIM_BUF_INIT;
    unsigned char bin[3] = { 0xff, 0xfe, 0x00 };

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        vsim_buf_reset(&b);
        VT_CHECK(!vsim_html_base64(&b, vec[i][0], strlen(vec[i][0])) && !strcmp(b.buf, vec[i][1]),
                 vec[i][1]);
    }
    vsim_buf_reset(&b);
    VT_CHECK(!vsim_html_base64(&b, bin, 3) && !strcmp(b.buf, "//4A"), "binary");
    vsim_buf_release(&b);
}

int main(void)
{
    test_text();
    test_json();
    test_base64();
    return VT_REPORT("report");
}
