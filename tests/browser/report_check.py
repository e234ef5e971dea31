#!/usr/bin/python3
"""Open a vsim-report page in headless Chromium (selenium + chromedriver) and check
what a person would see (issue 20).

usage: report_check.py PAGE.html MODE [SCREENSHOT.png]
MODE full: loads with no console error and no network request, every section is
     there, the t-SNE canvas draws as many points as the embedding has rows,
     hovering a point shows its thumbnail, clicking lists its neighbours, the
     screenshot is not blank; prints the largest contentful paint.
MODE xss: no injected script ran (top.pwned stays unset) and the payloads are
     shown as text.
Prints "browser: N passed, M failed"; exits 1 on a failure.
"""
import json
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

passed = failed = 0


def check(cond, name):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL browser: " + name, file=sys.stderr)


def driver():
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--force-device-scale-factor=1"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def requests(d):
    urls = []
    for e in d.get_log("performance"):
        m = json.loads(e["message"])["message"]
        if m.get("method") == "Network.requestWillBeSent":
            urls.append(m["params"]["request"]["url"])
    return urls


def main():
    page, mode = sys.argv[1], sys.argv[2]
    shot = sys.argv[3] if len(sys.argv) > 3 else None
    d = driver()
    try:
        d.execute_cdp_cmd("Network.enable", {})
        d.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
        d.get("file://" + page)
        ready = d.execute_script("return document.documentElement.dataset.ready || ''")
        check(ready == "1", "the page's script finished without error: %r %r" % (
            ready, d.execute_script("return window.vsimReport && window.vsimReport.errors")))
        logs = [l for l in d.get_log("browser") if l["level"] == "SEVERE"]
        check(not logs, "no console error: %s" % logs[:3])
        urls = [u for u in requests(d) if not u.startswith("data:")]
        check(urls == ["file://" + page], "no request but the page itself: %s" % urls[:5])
        if mode == "xss":
            check(d.execute_script("return typeof top.pwned") == "undefined",
                  "no injected script ran (pwned = %r)" % d.execute_script("return top.pwned"))
            text = d.execute_script("return document.body.innerText")
            check('</script><script>top["pwned"]=1</script>' in text,
                  "the tensor-name payload is shown as text")
            check("<img src=x onerror" in text, "the label payload is shown as text")
            check("run-<b>bold</b>" in text, "the run id is shown as text")
            check(d.execute_script("return document.querySelectorAll('img[src=x]').length") == 0,
                  "no injected img element")
            return
        for sec in ("summary", "curves", "layers", "images", "embeddings"):
            check(d.execute_script("return !!document.getElementById(arguments[0])", sec),
                  "section %s present" % sec)
        summ = json.loads(d.execute_script(
            "return document.getElementById('vsim-summary').textContent"))
        summ = summ[0] if isinstance(summ, list) else summ
        n = summ["embedding"]["n"]
        sc = d.execute_script("return window.vsimReport.scatter.map(function(s){"
                              "return [s.n, s.drawn]})")
        check(len(sc) >= 1 and sc[0] == [n, n],
              "the t-SNE canvas draws every point: %s, want %d" % (sc, n))
        check(d.execute_script("return window.vsimReport.curves") >= 1, "curves drawn")
        # hover the first point: the tooltip shows its thumbnail
        d.execute_script("document.querySelector('canvas.scatter').scrollIntoView()")
        x, y = d.execute_script("return window.vsimReport.scatter[0].pos(0)")
        d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        tip = d.execute_script("var t = document.getElementById('tip');"
                               "return [t.hidden, t.querySelectorAll('canvas.thumb').length,"
                               " t.textContent]")
        check(tip[0] is False and tip[1] == 1, "hovering a point shows its thumbnail: %s" % tip)
        check("design" in tip[2], "the tooltip names the design: %r" % tip[2])
        for t in ("mousePressed", "mouseReleased"):
            d.execute_cdp_cmd("Input.dispatchMouseEvent", {
                "type": t, "x": x, "y": y, "button": "left", "clickCount": 1})
        nb = d.execute_script("return document.querySelectorAll('.neighbors figure').length")
        check(nb == 7, "clicking lists the query and its 6 nearest designs: %d" % nb)
        lcp = d.execute_script("""
            return new Promise(function (done) {
              new PerformanceObserver(function (l) {
                var e = l.getEntries(); done(e[e.length - 1].startTime);
              }).observe({type: 'largest-contentful-paint', buffered: true});
              setTimeout(function () { done(-1); }, 3000);
            });""")
        print("browser: largest contentful paint %.0f ms" % lcp)
        if shot:
            d.execute_script("window.scrollTo(0, 0)")
            d.save_screenshot(shot)
            from PIL import Image
            import numpy as np
            a = np.asarray(Image.open(shot).convert("L"), dtype=float)
            check(a.std() > 10, "the screenshot is not blank (std %.1f)" % a.std())
    finally:
        d.quit()


try:
    main()
except Exception as e:  # a crash is a failure with its reason
    failed += 1
    print("FAIL browser: %s: %s" % (type(e).__name__, e), file=sys.stderr)
print("browser: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
