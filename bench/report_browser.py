#!/usr/bin/python3
"""Open a vsim-report page in headless Chromium and measure what a reader feels:
the largest contentful paint (Performance API) and, panning the first t-SNE chart
by dragging it 60 times, the time each redraw of every point takes.
usage: report_browser.py PAGE.html LABEL"""
import json
import statistics
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

page, label = sys.argv[1], sys.argv[2]
o = webdriver.ChromeOptions()
o.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
    o.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
try:
    t0 = time.time()
    d.get("file://" + page)
    load_s = time.time() - t0
    lcp = d.execute_script("""
        return new Promise(function (done) {
          new PerformanceObserver(function (l) {
            var e = l.getEntries(); done(e[e.length - 1].startTime);
          }).observe({type: 'largest-contentful-paint', buffered: true});
          setTimeout(function () { done(-1); }, 5000);
        });""")
    n = d.execute_script("var s = window.vsimReport.scatter[0]; return s ? s.n : 0")
    frames = []
    if n:
        d.execute_script("document.querySelector('canvas.scatter').scrollIntoView()")
        x, y = d.execute_script("var r = document.querySelector('canvas.scatter')"
                                ".getBoundingClientRect(); return [r.left + 200, r.top + 200]")
        d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x, "y": y,
                                                       "button": "left", "buttons": 1,
                                                       "clickCount": 1})
        for k in range(60):
            d.execute_cdp_cmd("Input.dispatchMouseEvent", {
                "type": "mouseMoved", "x": x + 3 * (k + 1), "y": y + 2 * (k + 1),
                "button": "left", "buttons": 1})
            d.execute_async_script("requestAnimationFrame(function () { arguments[0](); }"
                                   ".bind(null, arguments[0]))")
        d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x, "y": y,
                                                       "button": "left", "clickCount": 1})
        frames = d.execute_script("return window.vsimReport.scatter[0].frames")
    res = {"page": label, "lcp_ms": round(lcp), "load_s": round(load_s, 2), "points": n,
           "pan_frames": len(frames)}
    if frames:
        res["pan_frame_ms_median"] = round(statistics.median(frames), 1)
        res["pan_frame_ms_max"] = round(max(frames), 1)
    print("browser " + json.dumps(res))
finally:
    d.quit()
