/* vsim-report: draws the page's charts on canvases from the JSON blocks
   #vsim-summary and #vsim-data. Plain JavaScript, no library, no network. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("vsim-data").textContent);
  var PAL = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000", "#999999", "#882255", "#44AA99", "#117733", "#332288", "#AA4499",
             "#DDCC77", "#88CCEE"];
  var R = window.vsimReport = { scatter: [], curves: 0, errors: [] };
  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
  }
  function color(i) {
    if (i < PAL.length) return PAL[i];
    return "hsl(" + ((i * 137.5) % 360) + ",55%,50%)";
  }
  function b64(s) {
    var bin = atob(s || ""), n = bin.length, u = new Uint8Array(n);
    for (var i = 0; i < n; i++) u[i] = bin.charCodeAt(i);
    return u.buffer;
  }
  function f64(s) { return new Float64Array(b64(s)); }
  function f32(s) { return new Float32Array(b64(s)); }
  function i32(s) { return new Int32Array(b64(s)); }
  function u16(s) { return new Uint16Array(b64(s)); }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    var a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(4) : (+v.toPrecision(6)).toString();
  }
  function setup(cv) {
    var r = window.devicePixelRatio || 1, w = cv.width, h = cv.height;
    if (!cv.dataset.w) { cv.dataset.w = w; cv.dataset.h = h; }
    w = +cv.dataset.w; h = +cv.dataset.h;
    cv.width = w * r; cv.height = h * r; cv.style.width = w + "px";
    var g = cv.getContext("2d");
    g.setTransform(r, 0, 0, r, 0, 0);
    return { g: g, w: w, h: h };
  }
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n))), err = (hi - lo) / n / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var t = [], v = Math.ceil(lo / step) * step;
    for (; v <= hi + step * 1e-9; v += step) t.push(+v.toPrecision(12));
    return t;
  }
  var tip = document.getElementById("tip");
  function showTip(x, y, node) {
    tip.innerHTML = "";
    tip.appendChild(node);
    tip.hidden = false;
    tip.style.left = Math.min(x + 14, window.innerWidth - 220) + "px";
    tip.style.top = Math.min(y + 14, window.innerHeight - 120) + "px";
  }
  function hideTip() { tip.hidden = true; }
  function text(s) { return document.createTextNode(s); }
  function el(tag, cls, txt) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (txt !== undefined) e.textContent = txt;
    return e;
  }

  /* ---- line charts: every step kept, a min/max envelope where steps outnumber pixels ---- */
  var curveCharts = [];
  function smooth(v, a) {
    if (!a) return v;
    var out = new Float64Array(v.length), last = 0, n = 0;
    for (var i = 0; i < v.length; i++) {
      if (!isFinite(v[i])) { out[i] = v[i]; continue; }
      last = last * a + (1 - a) * v[i]; n++;
      out[i] = last / (1 - Math.pow(a, n));
    }
    return out;
  }
  function drawCurve(c) {
    var s = setup(c.cv), g = s.g, W = s.w, H = s.h, L = 58, T = 22, B = 26, Rr = 10;
    var log = document.getElementById("curve-log").checked;
    var a = +document.getElementById("curve-smooth").value;
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    c.series.forEach(function (se) {
      se.sv = smooth(se.v, a);
      for (var i = 0; i < se.st.length; i++) {
        var y = log ? (se.sv[i] > 0 ? Math.log10(se.sv[i]) : NaN) : se.sv[i];
        if (!isFinite(y)) continue;
        if (se.st[i] < x0) x0 = se.st[i];
        if (se.st[i] > x1) x1 = se.st[i];
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    });
    g.clearRect(0, 0, W, H);
    g.fillStyle = css("--fg"); g.font = "12px sans-serif";
    g.fillText(c.name, L, 14);
    if (!(x1 >= x0) || !(y1 >= y0)) { g.fillText("no finite values", L, H / 2); return; }
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) { y1 += 0.5; y0 -= 0.5; }
    var pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
    var sx = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - Rr); };
    var sy = function (y) { return T + (1 - (y - y0) / (y1 - y0)) * (H - T - B); };
    c.map = { sx: sx, x0: x0, x1: x1, L: L, W: W, Rr: Rr, log: log, sy: sy };
    g.strokeStyle = css("--grid"); g.fillStyle = css("--muted"); g.lineWidth = 1;
    niceTicks(y0, y1, 5).forEach(function (t) {
      var y = sy(t); g.beginPath(); g.moveTo(L, y); g.lineTo(W - Rr, y); g.stroke();
      g.fillText(log ? "1e" + fmt(t) : fmt(t), 2, y + 4);
    });
    niceTicks(x0, x1, 6).forEach(function (t) {
      var x = sx(t); g.fillText(String(t), x - 10, H - 8);
    });
    c.series.forEach(function (se) {
      g.strokeStyle = se.color; g.fillStyle = se.color; g.lineWidth = 1.5;
      var n = se.st.length, px = W - L - Rr;
      var yv = function (i) { var v = se.sv[i]; return log ? (v > 0 ? Math.log10(v) : NaN) : v; };
      g.beginPath();
      if (n <= px) {
        var started = false;
        for (var i = 0; i < n; i++) {
          var y = yv(i);
          if (!isFinite(y)) { started = false; continue; }
          if (started) g.lineTo(sx(se.st[i]), sy(y)); else g.moveTo(sx(se.st[i]), sy(y));
          started = true;
        }
        g.stroke();
      } else {
        /* per pixel column: the min..max of its steps, joined through their means */
        var col = -1, lo = 0, hi = 0, sum = 0, k = 0, prev = null;
        var flush = function () {
          if (!k) return;
          var x = L + col + 0.5;
          g.moveTo(x, sy(lo)); g.lineTo(x, sy(hi));
          var m = sum / k;
          if (prev) { g.moveTo(prev[0], prev[1]); g.lineTo(x, sy(m)); }
          prev = [x, sy(m)];
        };
        for (var j = 0; j < n; j++) {
          var v = yv(j);
          if (!isFinite(v)) continue;
          var cj = Math.floor(sx(se.st[j]) - L);
          if (cj !== col) { flush(); col = cj; lo = hi = v; sum = 0; k = 0; }
          lo = Math.min(lo, v); hi = Math.max(hi, v); sum += v; k++;
        }
        flush();
        g.lineWidth = 1; g.stroke();
      }
    });
    var lx = L + 8;
    c.series.forEach(function (se) {
      g.fillStyle = se.color; g.fillRect(lx, 20, 10, 3);
      g.fillStyle = css("--muted"); g.fillText(se.label, lx + 14, 26);
      lx += 22 + g.measureText(se.label).width;
    });
    R.curves++;
  }
  function nearestIndex(st, x) {
    var lo = 0, hi = st.length - 1;
    while (hi - lo > 1) { var m = (lo + hi) >> 1; if (st[m] < x) lo = m; else hi = m; }
    return Math.abs(st[lo] - x) <= Math.abs(st[hi] - x) ? lo : hi;
  }
  function buildCurves() {
    var byName = {}, order = [], box = document.getElementById("curve-charts");
    var tbody = document.querySelector("#curve-table tbody");
    DATA.forEach(function (run, ri) {
      (run.curves || []).forEach(function (c, ci) {
        if (!byName[c.name]) { byName[c.name] = []; order.push(c.name); }
        var st = i32(c.steps), v = f64(c.values);
        var label = (DATA.length > 1 ? run.name + " " : "") + c.mode;
        byName[c.name].push({ st: st, v: v, label: label,
          color: color(DATA.length > 1 ? ri * 2 + (c.mode === "eval" ? 1 : 0)
                                       : (c.mode === "eval" ? 1 : 0)) });
        var mn = Infinity, mx = -Infinity;
        for (var i = 0; i < v.length; i++) if (isFinite(v[i])) { mn = Math.min(mn, v[i]); mx = Math.max(mx, v[i]); }
        var tr = el("tr");
        [run.name, c.name, c.mode, String(v.length), fmt(v[0]), fmt(v[v.length - 1]), fmt(mn), fmt(mx)]
          .forEach(function (t, k) { var td = el("td", k >= 3 ? "n" : "", t); tr.appendChild(td); });
        tbody.appendChild(tr);
      });
    });
    order.forEach(function (name) {
      var fig = el("figure"), cv = el("canvas");
      cv.width = 560; cv.height = 240; cv.setAttribute("role", "img");
      cv.setAttribute("aria-label", "curve of " + name);
      cv.className = "curve";
      fig.appendChild(cv); box.appendChild(fig);
      var c = { cv: cv, name: name, series: byName[name] };
      curveCharts.push(c);
      cv.addEventListener("mousemove", function (ev) {
        if (!c.map) return;
        var rc = cv.getBoundingClientRect(), x = ev.clientX - rc.left;
        var step = c.map.x0 + (x - c.map.L) / (c.map.W - c.map.L - c.map.Rr) * (c.map.x1 - c.map.x0);
        var d = el("div");
        d.appendChild(el("b", "", name));
        c.series.forEach(function (se) {
          if (!se.st.length) return;
          var i = nearestIndex(se.st, step);
          d.appendChild(el("div", "", se.label + " step " + se.st[i] + ": " + fmt(se.v[i])));
        });
        showTip(ev.clientX, ev.clientY, d);
      });
      cv.addEventListener("mouseleave", hideTip);
    });
    var redraw = function () {
      document.getElementById("curve-smooth-v").textContent =
        document.getElementById("curve-smooth").value;
      curveCharts.forEach(drawCurve);
    };
    document.getElementById("curve-log").addEventListener("change", redraw);
    document.getElementById("curve-smooth").addEventListener("input", redraw);
    redraw();
  }

  /* ---- layers: sparklines, heat maps, bands, histograms ---- */
  function track(run, name) {
    var t = run.tracks && run.tracks[name];
    if (!t) return null;
    if (!t.dec) t.dec = { st: i32(t.steps), v: f32(t.v) };
    return t.dec;
  }
  function sparks() {
    document.querySelectorAll("canvas.spark").forEach(function (cv) {
      var run = DATA[+cv.dataset.run], t = track(run, cv.dataset.tensor);
      if (!t) return;
      var f = cv.dataset.tensor.indexOf("gradients/") === 0 ? 2 : 0, n = t.st.length;
      var s = setup(cv), g = s.g, lo = Infinity, hi = -Infinity, i, v;
      for (i = 0; i < n; i++) { v = t.v[i * 12 + f]; if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
      if (!(hi >= lo)) return;
      if (hi === lo) { hi += 1; lo -= 1; }
      g.strokeStyle = css("--accent"); g.lineWidth = 1.2; g.beginPath();
      for (i = 0; i < n; i++) {
        v = t.v[i * 12 + f];
        var x = n > 1 ? i / (n - 1) * (s.w - 2) + 1 : s.w / 2, y = s.h - 2 - (v - lo) / (hi - lo) * (s.h - 4);
        if (i) g.lineTo(x, y); else g.moveTo(x, y);
      }
      g.stroke();
      cv.title = "from " + fmt(t.v[f]) + " to " + fmt(t.v[(n - 1) * 12 + f]) + " over " + n + " steps";
    });
  }
  function viridis(t) {
    var c = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    t = Math.max(0, Math.min(1, t)) * 4;
    var i = Math.min(3, Math.floor(t)), f = t - i, a = c[i], b = c[i + 1];
    return "rgb(" + Math.round(a[0] + (b[0] - a[0]) * f) + "," + Math.round(a[1] + (b[1] - a[1]) * f) +
      "," + Math.round(a[2] + (b[2] - a[2]) * f) + ")";
  }
  function drawHeat(cv, rows, nCols, val, xlab) {
    var s = setup(cv), g = s.g, L = 150, T = 8, B = 26, Rr = 50, lo = Infinity, hi = -Infinity;
    for (var i = 0; i < val.length; i++) if (isFinite(val[i])) { lo = Math.min(lo, val[i]); hi = Math.max(hi, val[i]); }
    g.fillStyle = css("--muted"); g.font = "11px sans-serif";
    if (!rows.length || !(hi >= lo)) { g.fillText("nothing saved", 10, 20); return; }
    if (hi === lo) hi = lo + 1;
    var cw = (s.w - L - Rr) / nCols, rh = (s.h - T - B) / rows.length;
    for (var r = 0; r < rows.length; r++) {
      for (var c = 0; c < nCols; c++) {
        var v = val[r * nCols + c];
        if (!isFinite(v)) continue;
        g.fillStyle = viridis((v - lo) / (hi - lo));
        g.fillRect(L + c * cw, T + r * rh, Math.ceil(cw), Math.ceil(rh));
      }
      if (rh >= 8) { g.fillStyle = css("--muted"); g.fillText(rows[r].slice(-24), 2, T + r * rh + rh / 2 + 4); }
    }
    g.fillStyle = css("--muted"); g.fillText(xlab, L, s.h - 8);
    for (var k = 0; k < 20; k++) { g.fillStyle = viridis(1 - k / 19); g.fillRect(s.w - 30, T + k * (s.h - T - B) / 20, 12, (s.h - T - B) / 20 + 1); }
    g.fillStyle = css("--muted"); g.fillText(fmt(hi), s.w - 48, T + 10); g.fillText(fmt(lo), s.w - 48, s.h - B);
    cv.title = rows.length + " layers x " + nCols + " columns, " + fmt(lo) + " to " + fmt(hi);
  }
  function heats() {
    document.querySelectorAll("canvas.heat").forEach(function (cv) {
      var run = DATA[+cv.dataset.run];
      if (cv.dataset.kind === "update") {
        var h = run.heat_update;
        if (!h) { drawHeat(cv, [], 0, [], ""); return; }
        drawHeat(cv, h.rows, h.n_cols, f32(h.values), "steps " + h.first_step + "–" + h.last_step);
      } else {
        var names = Object.keys(run.tracks || {}).filter(function (k) {
          return k.indexOf("gradients/") === 0 && /weight$/.test(k); });
        var steps = {}, list;
        names.forEach(function (k) { var t = track(run, k); t.st.forEach(function (x) { steps[x] = 1; }); });
        list = Object.keys(steps).map(Number).sort(function (a, b) { return a - b; });
        var idx = {}; list.forEach(function (x, i) { idx[x] = i; });
        var val = new Float32Array(names.length * list.length).fill(NaN);
        names.forEach(function (k, r) {
          var t = track(run, k);
          for (var i = 0; i < t.st.length; i++) { var v = t.v[i * 12 + 2]; val[r * list.length + idx[t.st[i]]] = v > 0 ? Math.log10(v) : NaN; }
        });
        drawHeat(cv, names.map(function (k) { return k.slice(10); }), list.length, val,
          list.length ? "steps " + list[0] + "–" + list[list.length - 1] : "");
      }
    });
  }
  function drawBands(cv, run, name) {
    var s = setup(cv), g = s.g, t = track(run, name), L = 58, T = 20, B = 24, Rr = 10;
    g.clearRect(0, 0, s.w, s.h); g.font = "11px sans-serif"; g.fillStyle = css("--fg");
    g.fillText(name, L, 12);
    if (!t || !t.st.length) return;
    var n = t.st.length, lo = Infinity, hi = -Infinity, i, k;
    for (i = 0; i < n; i++) for (k = 3; k < 12; k++) { var v = t.v[i * 12 + k]; if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
    if (!(hi >= lo)) return;
    if (hi === lo) { hi += 1; lo -= 1; }
    var x0 = t.st[0], x1 = t.st[n - 1] > x0 ? t.st[n - 1] : x0 + 1;
    var sx = function (x) { return L + (x - x0) / (x1 - x0) * (s.w - L - Rr); };
    var sy = function (y) { return T + (1 - (y - lo) / (hi - lo)) * (s.h - T - B); };
    g.fillStyle = css("--muted");
    niceTicks(lo, hi, 4).forEach(function (y) { g.fillText(fmt(y), 2, sy(y) + 4); });
    g.fillText("step " + x0 + "–" + x1, L, s.h - 6);
    for (var b = 0; b < 4; b++) {
      g.globalAlpha = 0.18 + 0.14 * b; g.fillStyle = css("--accent"); g.beginPath();
      for (i = 0; i < n; i++) g.lineTo(sx(t.st[i]), sy(t.v[i * 12 + 3 + b]));
      for (i = n - 1; i >= 0; i--) g.lineTo(sx(t.st[i]), sy(t.v[i * 12 + 11 - b]));
      g.closePath(); g.fill();
    }
    g.globalAlpha = 1; g.strokeStyle = css("--accent"); g.lineWidth = 1.5; g.beginPath();
    for (i = 0; i < n; i++) g.lineTo(sx(t.st[i]), sy(t.v[i * 12 + 7]));
    g.stroke();
  }
  function drawHist(cv, run, name) {
    var s = setup(cv), g = s.g, h = run.hist && run.hist[name], L = 50, T = 20, B = 24;
    g.clearRect(0, 0, s.w, s.h); g.font = "11px sans-serif"; g.fillStyle = css("--fg");
    g.fillText(name, L, 12);
    if (!h) { g.fillStyle = css("--muted"); g.fillText("no histogram at this step", L, s.h / 2); return; }
    var n = h.counts.length, mx = Math.max.apply(null, h.counts) || 1, bw = (s.w - L - 10) / n;
    g.fillStyle = css("--accent");
    for (var i = 0; i < n; i++) {
      var bh = h.counts[i] / mx * (s.h - T - B);
      g.fillRect(L + i * bw, s.h - B - bh, Math.max(1, bw - 1), bh);
    }
    g.fillStyle = css("--muted"); g.fillText(fmt(h.lo), L, s.h - 6);
    g.fillText(fmt(h.hi), s.w - 60, s.h - 6); g.fillText(String(mx), 2, T + 8);
  }
  function bandsAndHist() {
    document.querySelectorAll("select.band-pick").forEach(function (sel) {
      var ri = +sel.dataset.run, run = DATA[ri], names = Object.keys(run.tracks || {});
      names.forEach(function (k) { var o = el("option", "", k); o.value = k; sel.appendChild(o); });
      var pick = names.filter(function (k) { return k.indexOf("gradients/") === 0; })[0] || names[0];
      if (!pick) return;
      sel.value = pick;
      var draw = function () {
        var bc = document.querySelector("canvas.bands[data-run='" + ri + "']");
        var hc = document.querySelector("canvas.histo[data-run='" + ri + "']");
        drawBands(bc, run, sel.value); drawHist(hc, run, sel.value);
      };
      sel.addEventListener("change", draw);
      draw();
    });
  }

  /* ---- t-SNE scatter: every point on a canvas, hover and click through a grid index ---- */
  var sprites = {};
  function sprite(ri) {
    var th = DATA[ri].embeddings && DATA[ri].embeddings.thumbs;
    if (!th) return null;
    if (!sprites[ri]) {
      var img = new Image(), idx = {};
      th.ids.forEach(function (id, i) { idx[id] = i; });
      img.src = "data:image/png;base64," + th.png;
      sprites[ri] = { img: img, idx: idx, th: th };
    }
    return sprites[ri];
  }
  function thumb(ri, id, scale) {
    var sp = sprite(ri);
    if (!sp || sp.idx[id] === undefined) return null;
    var k = sp.idx[id], S = sp.th.size, cv = document.createElement("canvas");
    cv.width = S * scale; cv.height = S * scale; cv.className = "thumb";
    var g = cv.getContext("2d"), draw = function () {
      g.imageSmoothingEnabled = false;
      g.drawImage(sp.img, (k % sp.th.cols) * S, Math.floor(k / sp.th.cols) * S, S, S, 0, 0, S * scale, S * scale);
    };
    if (sp.img.complete) draw(); else sp.img.addEventListener("load", draw);
    return cv;
  }
  function labelName(emb, l) {
    return l === 65535 ? "(none)" : (emb.label_names && emb.label_names[l] !== undefined ? emb.label_names[l] : "class " + l);
  }
  function pointCard(ri, emb, P, i) {
    var d = el("div"), id = P.ids ? P.ids[i] : -1, t = id >= 0 ? thumb(ri, id, 3) : null;
    if (t) d.appendChild(t);
    d.appendChild(el("div", "", labelName(emb, P.labels ? P.labels[i] : 65535) +
      (id >= 0 ? ", design " + id : "") + " (point " + i + ")"));
    return d;
  }
  function scatter(cv) {
    var ri = +cv.dataset.run, emb = DATA[ri].embeddings, c = emb.charts[+cv.dataset.chart];
    var xy = u16(c.xy), n = c.n, lab = c.labels ? u16(c.labels) : null, ids = c.ids ? i32(c.ids) : null;
    var nn = c.nn ? (c.nn_bits === 16 ? u16(c.nn) : new Uint32Array(b64(c.nn))) : null;
    var P = { labels: lab, ids: ids }, view = { s: 1, tx: 0, ty: 0 }, s = setup(cv), M = 12;
    var grid = null, GN = 64, rec = { n: n, drawn: 0, run: ri, chart: +cv.dataset.chart };
    R.scatter.push(rec);
    function px(i) { return M + (xy[2 * i] / 65535 * (s.w - 2 * M) - s.w / 2 + M) * view.s + s.w / 2 - M + view.tx; }
    function py(i) { return M + ((1 - xy[2 * i + 1] / 65535) * (s.h - 2 * M) - s.h / 2 + M) * view.s + s.h / 2 - M + view.ty; }
    rec.pos = function (i) { var r = cv.getBoundingClientRect(); return [r.left + px(i), r.top + py(i)]; };
    function draw() {
      var g = s.g, byClass = {}, i, k;
      g.clearRect(0, 0, s.w, s.h);
      for (i = 0; i < n; i++) { k = lab ? lab[i] : 0; (byClass[k] = byClass[k] || []).push(i); }
      var r = n > 20000 ? 1 : n > 2000 ? 1.5 : 2.5, drawn = 0;
      Object.keys(byClass).forEach(function (key) {
        var list = byClass[key];
        g.fillStyle = color(+key === 65535 ? 8 : +key); g.beginPath();
        for (var j = 0; j < list.length; j++) {
          var x = px(list[j]), y = py(list[j]);
          g.rect(x - r, y - r, 2 * r, 2 * r); drawn++;
        }
        g.fill();
      });
      rec.drawn = drawn;
      grid = null;
    }
    function buildGrid() {
      grid = new Array(GN * GN);
      for (var i = 0; i < n; i++) {
        var gx = Math.floor(px(i) / s.w * GN), gy = Math.floor(py(i) / s.h * GN);
        if (gx < 0 || gy < 0 || gx >= GN || gy >= GN) continue;
        (grid[gy * GN + gx] = grid[gy * GN + gx] || []).push(i);
      }
    }
    function nearest(x, y) {
      if (!grid) buildGrid();
      var gx = Math.floor(x / s.w * GN), gy = Math.floor(y / s.h * GN), best = -1, bd = 64;
      for (var dy = -1; dy <= 1; dy++) for (var dx = -1; dx <= 1; dx++) {
        var cell = grid[(gy + dy) * GN + gx + dx];
        if (gx + dx < 0 || gx + dx >= GN || gy + dy < 0 || gy + dy >= GN || !cell) continue;
        for (var j = 0; j < cell.length; j++) {
          var d = Math.pow(px(cell[j]) - x, 2) + Math.pow(py(cell[j]) - y, 2);
          if (d < bd) { bd = d; best = cell[j]; }
        }
      }
      return best;
    }
    var drag = null, raf = 0;
    rec.frames = [];
    function redraw() {
      if (!raf) raf = requestAnimationFrame(function () {
        raf = 0; var t0 = performance.now(); draw(); rec.frames.push(performance.now() - t0);
      });
    }
    cv.addEventListener("mousedown", function (e) { drag = [e.clientX, e.clientY, view.tx, view.ty, false]; });
    window.addEventListener("mouseup", function () { setTimeout(function () { drag = null; }, 0); });
    cv.addEventListener("mousemove", function (e) {
      var rc = cv.getBoundingClientRect();
      if (drag && (e.buttons & 1)) {
        if (Math.abs(e.clientX - drag[0]) + Math.abs(e.clientY - drag[1]) > 3) drag[4] = true;
        if (drag[4]) { view.tx = drag[2] + e.clientX - drag[0]; view.ty = drag[3] + e.clientY - drag[1]; redraw(); hideTip(); return; }
      }
      var i = nearest(e.clientX - rc.left, e.clientY - rc.top);
      if (i < 0) { hideTip(); return; }
      showTip(e.clientX, e.clientY, pointCard(ri, emb, P, i));
    });
    cv.addEventListener("mouseleave", hideTip);
    cv.addEventListener("wheel", function (e) {
      e.preventDefault();
      var f = e.deltaY < 0 ? 1.25 : 0.8, rc = cv.getBoundingClientRect();
      var mx = e.clientX - rc.left - s.w / 2, my = e.clientY - rc.top - s.h / 2;
      view.tx = mx - (mx - view.tx) * f; view.ty = my - (my - view.ty) * f; view.s *= f; redraw();
    }, { passive: false });
    cv.addEventListener("dblclick", function () { view = { s: 1, tx: 0, ty: 0 }; redraw(); });
    cv.addEventListener("click", function (e) {
      if (drag && drag[4]) return;
      var rc = cv.getBoundingClientRect(), i = nearest(e.clientX - rc.left, e.clientY - rc.top);
      if (i < 0 || !nn) return;
      var box = document.querySelector(".neighbors[data-run='" + ri + "']");
      box.innerHTML = "";
      box.appendChild(el("div", "", "Nearest designs in the latent space to point " + i + ":"));
      var add = function (j, cap) {
        var f = el("figure"), id = ids ? ids[j] : -1, t = id >= 0 ? thumb(ri, id, 2) : null;
        if (t) f.appendChild(t);
        f.appendChild(el("figcaption", "", cap + labelName(emb, lab ? lab[j] : 65535) + (id >= 0 ? " #" + id : "")));
        box.appendChild(f);
      };
      add(i, "query: ");
      for (var k = 0; k < c.k; k++) add(nn[i * c.k + k], (k + 1) + ". ");
    });
    draw();
    if (+cv.dataset.chart === 0) {
      var leg = document.querySelector(".legend[data-run='" + ri + "']"), counts = {};
      for (var i = 0; i < n; i++) { var l = lab ? lab[i] : 65535; counts[l] = (counts[l] || 0) + 1; }
      var tb = document.querySelector("table.classes[data-run='" + ri + "'] tbody");
      Object.keys(counts).sort(function (a, b) { return a - b; }).forEach(function (l) {
        var sp = el("span"), dot = el("i");
        dot.style.background = color(+l === 65535 ? 8 : +l);
        sp.appendChild(dot); sp.appendChild(text(labelName(emb, +l)));
        leg.appendChild(sp);
        var tr = el("tr"); tr.appendChild(el("td", "", labelName(emb, +l)));
        tr.appendChild(el("td", "n", String(counts[l]))); tb.appendChild(tr);
      });
      document.querySelectorAll("#embeddings .run-emb")[ri].querySelectorAll(".gq").forEach(function (th) {
        var q = +th.dataset.query, span = th.parentNode.querySelector(".gl"), g = (emb.gallery || []).filter(function (r) { return r.query === q; })[0];
        if (!g || !span) return;
        span.textContent = " " + [q].concat(g.neighbors).map(function (j) {
          return labelName(emb, lab ? lab[j] : 65535) + (ids ? " #" + ids[j] : ""); }).join(", ");
      });
    }
  }

  /* ---- sortable tables ---- */
  function sortable(t) {
    t.querySelectorAll("thead th").forEach(function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending", body = t.tBodies[0];
        t.querySelectorAll("thead th").forEach(function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows), key = function (r) {
          var c = r.cells[col]; if (!c) return "";
          var v = c.dataset.v !== undefined ? +c.dataset.v : parseFloat(c.textContent);
          return isNaN(v) || /[a-z]/i.test(c.textContent.replace(/e[-+]?\d+/, "")) && c.dataset.v === undefined ? c.textContent : v;
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b), r = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function run(name, f) { try { f(); } catch (e) { R.errors.push(name + ": " + e); if (window.console) console.error(e); } }
  run("curves", buildCurves);
  run("sparks", sparks);
  run("heats", heats);
  run("bands", bandsAndHist);
  run("scatter", function () { document.querySelectorAll("canvas.scatter").forEach(scatter); });
  run("tables", function () { document.querySelectorAll("table.sortable").forEach(sortable); });
  document.documentElement.dataset.ready = R.errors.length ? "error" : "1";
})();
