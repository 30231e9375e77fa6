/* rfdocs rf-explorer: draws each layer of the embedded data as a grid of units (a strip for a
   sequence); pointing at, clicking or focusing a unit lights up its receptive field in every
   earlier layer.
   Every number was computed when the page was built; this script only looks them up.
   No framework, no network: it works from a local file. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var VERSION = 1;
  var MARGIN = 1; // cells of padding drawn around each grid, where a field may reach
  var SIDE = 168; // pixels across the largest grid; every grid of an explorer shares its cell size
  var MIN_SCALE = 0.75; // grids shrink to this before another row is started
  var FLOOR = 0.3; // and never below this, however narrow the page
  var STRIP = 560; // pixels along the longest strip of a sequence's explorer
  var TALL = 2.5; // a strip's cells are this many times as tall as wide
  var EDGE = 0.3; // cells of room above and below a strip (its padding is before and after)

  /* ---- footprint maths (mirrors rfdocs.sphinxext.explorer.AxisMap) ----
     An axis map is [d, [[j, lo, hi], ...]], integers: unit x of the later layer sees
     [min(lo + x j), max(hi + x j)] / d of the earlier layer. */
  function span(map, x) {
    var d = map[0], paths = map[1], lo = Infinity, hi = -Infinity;
    for (var i = 0; i < paths.length; i++) {
      lo = Math.min(lo, paths[i][1] + x * paths[i][0]);
      hi = Math.max(hi, paths[i][2] + x * paths[i][0]);
    }
    return [lo / d, hi / d];
  }

  /* Whole units [first, last] seen by unit x, clipped to a layer of n units; null if none. */
  function cells(map, x, n) {
    var s = span(map, x);
    var first = Math.max(Math.ceil(s[0]), 0), last = Math.min(Math.floor(s[1]), n - 1);
    return first <= last ? [first, last] : null;
  }

  /* Rows and columns of layer k seen by unit (y, x) of layer l: [[r0, r1], [c0, c1]] or null. */
  function footprint(data, l, k, y, x) {
    var maps = data.layers[l].from[k];
    if (!maps) return null;
    var shape = data.layers[k].shape;
    var rows = cells(maps[0], y, shape[0]), cols = cells(maps[1], x, shape[1]);
    return rows && cols ? [rows, cols] : null;
  }

  /* ---- text ---- */
  var TIMES = "\u00d7", MINUS = "\u2212", DASH = "\u2013";

  function num(v) {
    var t = Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
    return t.charAt(0) === "-" ? MINUS + t.slice(1) : t;
  }
  function pair(a, b) { return a === b ? num(a) : num(a) + TIMES + num(b); }
  function dims(v) { return v.map(num).join(TIMES); }
  function range(a, b) { return a === b ? num(a) : num(a) + DASH + num(b); }
  function ordinal(n) {
    var s = ["th", "st", "nd", "rd"], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  }

  /* ---- layout ----
     items: [{svg, text, pad}] in pixels: a layer's box is max(svg * scale, text) + pad wide;
     gap between boxes of a row.  Returns {scale, starts}: the largest scale (at most 1) with
     the fewest rows that keeps it at least MIN_SCALE, and the first layer of each row after
     the first, the rows as even in count as that scale allows (no lone last layer when the
     layers can be shared out). */
  function arrange(items, gap, width) {
    var n = items.length, a, b, k, i, j;
    function rowWidth(a, b, s) {
      var w = gap * (b - a - 1);
      for (var i = a; i < b; i++) w += Math.max(items[i].svg * s, items[i].text) + items[i].pad;
      return w;
    }
    var fit = []; // fit[a][b]: the largest scale at which layers a..b-1 share one row
    for (a = 0; a < n; a++) {
      fit.push([]);
      for (b = a + 1; b <= n; b++) {
        var lo = 0, hi = 1;
        if (rowWidth(a, b, 1) <= width) lo = 1;
        else if (rowWidth(a, b, 0) <= width) {
          for (i = 0; i < 30; i++) {
            var mid = (lo + hi) / 2;
            if (rowWidth(a, b, mid) <= width) lo = mid; else hi = mid;
          }
        }
        fit[a][b] = lo;
      }
    }
    // best[i]: the largest scale at which the first i layers fill `rows` rows
    var best = [1], rows = 0, scale = -1;
    for (i = 1; i <= n; i++) best.push(-1);
    for (k = 1; k <= n; k++) {
      var next = [-1];
      for (i = 1; i <= n; i++) {
        var most = -1;
        for (j = k - 1; j < i; j++) {
          if (best[j] >= 0) most = Math.max(most, Math.min(best[j], fit[j][i]));
        }
        next.push(most);
      }
      best = next;
      if (best[n] > scale + 1e-9) { scale = best[n]; rows = k; }
      if (scale >= MIN_SCALE) break;
    }
    // the rows most even in count whose layers all fit at that scale
    var target = n / rows, cost = [0], from = [[]];
    for (i = 1; i <= n; i++) { cost.push(Infinity); from.push(null); }
    for (k = 1; k <= rows; k++) {
      var c = [Infinity], f = [null];
      for (i = 1; i <= n; i++) {
        c.push(Infinity); f.push(null);
        for (j = k - 1; j < i; j++) {
          if (cost[j] === Infinity || fit[j][i] < scale - 1e-9) continue;
          var t = cost[j] + (i - j - target) * (i - j - target);
          if (t <= c[i]) { c[i] = t; f[i] = from[j].concat(j ? [j] : []); } // ties: fuller first rows
        }
      }
      cost = c; from = f;
    }
    return {scale: Math.max(scale, FLOOR), starts: from[n] || []};
  }

  /* Strips: one per row, all to one scale (at most 1) so the longest fits beside its label. */
  function stack(items, width) {
    var scale = 1, starts = [];
    items.forEach(function (item, i) {
      if (i) starts.push(i);
      if (item.svg > 0) scale = Math.min(scale, (width - item.text - item.pad) / item.svg);
    });
    return {scale: Math.max(scale, FLOOR), starts: starts};
  }

  function el(tag, attrs, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4))
                                         : document.createElement(tag);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* A sequence's data as one-row grids: shape [1, T, C], a row map every unit of which sees
     row 0, select [l, 0, t].  The grid code then draws, lights and moves along strips. */
  function asRows(data) {
    var row = [1, [[0, 0, 0]]];
    return {
      version: data.version,
      select: [data.select[0], 0, data.select[1]],
      layers: data.layers.map(function (layer) {
        return {name: layer.name, op: layer.op, shape: [1].concat(layer.shape), rf: layer.rf,
                jump: layer.jump, start: layer.start, aligned: layer.aligned, step: layer.step,
                from: layer.from.map(function (m) { return m ? [row, m[0]] : null; })};
      })
    };
  }

  /* ---- one explorer ---- */
  function Explorer(root, data) {
    this.root = root;
    this.nd = data.layers[0].shape.length - 1; // spatial axes: 1 (strips) or 2 (grids)
    this.given = data; // as embedded: the numbers the text shows
    if (this.nd === 1) {
      data = asRows(data);
      root.classList.add("rfx-1d");
    }
    this.data = data;
    this.grids = [];
    this.current = null; // {l, y, x} shown now
    this.pinned = null; // {l, y, x} chosen by click or keyboard
    this.build();
  }

  Explorer.prototype.build = function () {
    var self = this, data = this.data, id = this.root.id;
    var stage = el("div", {"class": "rfx-stage"});
    var layers = el("div", {"class": "rfx-layers", role: "group",
                            "aria-label": (this.nd === 1 ? "Layers of the sequence network, "
                                           : "Layers of the network, ") + "input first",
                            "aria-describedby": id + "-help"});
    this.layers = layers;
    this.breaks = []; // breaks[l - 1] ends a row before layer l when shown
    var most = Math.max.apply(null, data.layers.map(function (layer) {
      return Math.ceil(Math.max(layer.shape[0], layer.shape[1]) / layer.step);
    }));
    this.px = this.nd === 1 ? Math.max(8, Math.min(24, Math.floor(STRIP / (most + 2 * MARGIN))))
                            : Math.max(4, Math.min(18, Math.floor(SIDE / (most + 2 * MARGIN))));
    data.layers.forEach(function (layer, l) {
      if (l > 0) {
        var cut = el("div", {"class": "rfx-break", "aria-hidden": "true"});
        cut.hidden = true;
        self.breaks.push(cut);
        layers.appendChild(cut);
      }
      layers.appendChild(self.grid(layer, l));
    });
    layers.addEventListener("pointerleave", function () {
      if (self.pinned) self.select(self.pinned, false);
    });
    var info = el("div", {"class": "rfx-info"});
    this.info = info;
    this.live = el("p", {"class": "rfx-live", "aria-live": "polite", role: "status"});
    stage.appendChild(layers);
    stage.appendChild(info);
    this.root.appendChild(stage);
    this.root.appendChild(this.live);
    var help = document.getElementById(id + "-help");
    if (help) help.hidden = false;
    this.watch();
    var s = data.select;
    this.select({l: s[0], y: s[1], x: s[2]}, false);
    this.setRoving(s[0], s[1], s[2]);
  };

  Explorer.prototype.grid = function (layer, l) {
    var self = this;
    var h = layer.shape[0], w = layer.shape[1], step = layer.step;
    var rows = Math.ceil(h / step), cols = Math.ceil(w / step);
    var px = this.px;
    var strip = this.nd === 1, tall = strip ? TALL : 1, edge = strip ? EDGE : MARGIN;
    var box = el("div", {"class": "rfx-layer", "data-layer": layer.name});
    var labels = strip ? el("div", {"class": "rfx-labels"}) : box;
    var title = el("div", {"class": "rfx-title"});
    title.appendChild(el("span", {"class": "rfx-name"}, layer.name));
    title.appendChild(el("span", {"class": "rfx-op"}, " " + layer.op));
    labels.appendChild(title);
    if (strip) box.appendChild(labels);
    var label = layer.name + ", " + layer.op + ", " +
      (strip ? w + " steps, " : h + " by " + w + " units, ") +
      layer.shape[2] + " channel" + (layer.shape[2] === 1 ? "" : "s") +
      (step > 1 ? ", sampled: every " + ordinal(step) + " unit shown, each cell stands for " +
       (strip ? step : step + " by " + step) + " units" : "");
    var svg = el("svg:svg", {
      "class": "rfx-grid", role: "grid", "aria-label": label,
      "aria-rowcount": h, "aria-colcount": w,
      viewBox: [-MARGIN, -edge, cols + 2 * MARGIN, rows * tall + 2 * edge].join(" "),
      width: (cols + 2 * MARGIN) * px, height: (rows * tall + 2 * edge) * px,
      "data-layer": layer.name, "data-step": step
    });
    svg.appendChild(el("svg:rect", {"class": "rfx-frame", x: 0, y: 0, width: cols,
                                    height: rows * tall}));
    var cellsOf = [];
    for (var i = 0; i < rows; i++) {
      var row = el("svg:g", {role: "row", "aria-rowindex": i * step + 1});
      var line = [];
      for (var j = 0; j < cols; j++) {
        var cell = el("svg:rect", {
          "class": "rfx-cell", role: "gridcell", tabindex: -1,
          x: j + 0.06, y: i * tall + 0.06, width: 0.88, height: tall - 0.12,
          "data-y": i * step, "data-x": j * step, "aria-colindex": j * step + 1
        });
        row.appendChild(cell);
        line.push(cell);
      }
      svg.appendChild(row);
      cellsOf.push(line);
    }
    var outline = el("svg:rect", {"class": "rfx-field", visibility: "hidden"});
    svg.appendChild(outline);
    box.appendChild(svg);
    var note = el("div", {"class": "rfx-note"}, dims(strip ? layer.shape.slice(1) : layer.shape));
    if (step > 1) {
      note.appendChild(el("br", {}));
      note.appendChild(el("span", {"class": "rfx-sampled",
        title: "Sampled: each cell stands for " + (strip ? step : step + TIMES + step) + " units"},
        "every " + ordinal(step) + " unit shown"));
    }
    labels.appendChild(note);

    svg.addEventListener("pointerover", function (event) {
      var c = self.cellAt(event.target);
      if (c) self.select({l: l, y: c.y, x: c.x}, false);
    });
    svg.addEventListener("click", function (event) {
      var c = self.cellAt(event.target);
      if (!c) return;
      event.target.focus({preventScroll: true});
      self.choose(l, c.y, c.x);
    });
    svg.addEventListener("focusin", function (event) {
      var c = self.cellAt(event.target);
      if (c) self.choose(l, c.y, c.x);
    });
    svg.addEventListener("keydown", function (event) { self.key(event, l); });

    this.rove(cellsOf[0][0]);
    this.grids.push({box: box, svg: svg, cells: cellsOf, rows: rows, cols: cols, step: step,
                     outline: outline, lit: [], roving: cellsOf[0][0], selected: null,
                     title: title, note: note, labels: strip ? labels : null,
                     tall: tall, edge: edge, natural: (cols + 2 * MARGIN) * px});
    return box;
  };

  /* Fit the grids to the width they have, again whenever it changes (or the fonts arrive). */
  Explorer.prototype.watch = function () {
    var self = this;
    this.layout();
    if (window.ResizeObserver) {
      new ResizeObserver(function () { self.layout(); }).observe(this.layers);
    } else {
      window.addEventListener("resize", function () { self.layout(); });
    }
    if (document.fonts && document.fonts.ready) {
      document.fonts.ready.then(function () { self.sizes = null; self.width = 0; self.layout(); });
    }
  };

  Explorer.prototype.measure = function () {
    var gap = parseFloat(getComputedStyle(this.layers).columnGap) || 0;
    return {gap: gap, items: this.grids.map(function (g) {
      var style = getComputedStyle(g.box);
      var pad = ["paddingLeft", "paddingRight", "borderLeftWidth", "borderRightWidth"]
        .reduce(function (sum, key) { return sum + (parseFloat(style[key]) || 0); }, 0);
      if (g.labels) { // a strip: its labels beside it, the box's gap between
        return {svg: g.natural, pad: pad,
                text: g.labels.offsetWidth + (parseFloat(style.columnGap) || 0)};
      }
      return {svg: g.natural, text: Math.max(g.title.scrollWidth, g.note.scrollWidth), pad: pad};
    })};
  };

  Explorer.prototype.layout = function () {
    var width = this.layers.clientWidth;
    if (!width || width === this.width) return; // hidden, or nothing changed
    this.width = width;
    if (!this.sizes) this.sizes = this.measure();
    var plan = this.nd === 1 ? stack(this.sizes.items, width - 1)
                             : arrange(this.sizes.items, this.sizes.gap, width - 1); // a pixel for rounding
    this.grids.forEach(function (g) {
      g.svg.style.width = Math.floor(g.natural * plan.scale * 100) / 100 + "px";
    });
    this.breaks.forEach(function (cut, i) { cut.hidden = plan.starts.indexOf(i + 1) < 0; });
    this.layers.setAttribute("data-rows", plan.starts.length + 1);
    this.layers.setAttribute("data-scale", plan.scale.toFixed(3));
  };

  Explorer.prototype.cellAt = function (target) {
    if (!target.classList || !target.classList.contains("rfx-cell")) return null;
    return {y: Number(target.getAttribute("data-y")), x: Number(target.getAttribute("data-x"))};
  };

  /* A unit chosen on purpose (click, tap, keyboard): it stays after the pointer leaves. */
  Explorer.prototype.choose = function (l, y, x) {
    var p = this.pinned;
    if (p && p.l === l && p.y === y && p.x === x && this.current === p) return;
    this.pinned = {l: l, y: y, x: x};
    this.setRoving(l, y, x);
    this.select(this.pinned, true);
  };

  /* One focusable cell per grid (roving tabindex), labelled with its position. */
  Explorer.prototype.setRoving = function (l, y, x) {
    var g = this.grids[l], cell = g.cells[Math.floor(y / g.step)][Math.floor(x / g.step)];
    if (g.roving === cell) return;
    g.roving.setAttribute("tabindex", -1);
    g.roving.removeAttribute("aria-label");
    this.rove(cell);
    g.roving = cell;
  };

  Explorer.prototype.rove = function (cell) {
    cell.setAttribute("tabindex", 0);
    cell.setAttribute("aria-label", this.nd === 1 ? "step " + cell.getAttribute("data-x")
                      : "row " + cell.getAttribute("data-y") +
                        ", column " + cell.getAttribute("data-x"));
  };

  Explorer.prototype.key = function (event, l) {
    var c = this.cellAt(event.target);
    if (!c) return;
    var g = this.grids[l], i = c.y / g.step, j = c.x / g.step;
    switch (event.key) {
      case "ArrowUp": i -= 1; break;
      case "ArrowDown": i += 1; break;
      case "ArrowLeft": j -= 1; break;
      case "ArrowRight": j += 1; break;
      case "Home": j = 0; if (event.ctrlKey) i = 0; break;
      case "End": j = g.cols - 1; if (event.ctrlKey) i = g.rows - 1; break;
      case "PageUp": i = 0; break;
      case "PageDown": i = g.rows - 1; break;
      case "Escape":
        this.pinned = null;
        event.target.blur();
        return;
      default: return;
    }
    event.preventDefault();
    i = Math.max(0, Math.min(g.rows - 1, i));
    j = Math.max(0, Math.min(g.cols - 1, j));
    var cell = g.cells[i][j];
    this.setRoving(l, i * g.step, j * g.step);
    cell.focus(); // focusin selects it
  };

  /* Light up unit u = {l, y, x} and its receptive field in every earlier layer. */
  Explorer.prototype.select = function (u, announce) {
    var data = this.data, self = this;
    this.current = u;
    this.grids.forEach(function (g, k) {
      g.lit.forEach(function (cell) { cell.classList.remove("rfx-in"); });
      g.lit = [];
      if (g.selected) g.selected.classList.remove("rfx-sel");
      g.selected = null;
      g.outline.setAttribute("visibility", "hidden");
      g.box.classList.remove("rfx-current", "rfx-unrelated");
      if (k === u.l) {
        g.selected = g.cells[Math.floor(u.y / g.step)][Math.floor(u.x / g.step)];
        g.selected.classList.add("rfx-sel");
        g.box.classList.add("rfx-current");
        return;
      }
      if (k > u.l) return;
      var maps = data.layers[u.l].from[k];
      if (!maps) { g.box.classList.add("rfx-unrelated"); return; }
      var fp = footprint(data, u.l, k, u.y, u.x);
      if (fp) {
        for (var i = Math.floor(fp[0][0] / g.step); i <= Math.floor(fp[0][1] / g.step); i++) {
          for (var j = Math.floor(fp[1][0] / g.step); j <= Math.floor(fp[1][1] / g.step); j++) {
            g.cells[i][j].classList.add("rfx-in");
            g.lit.push(g.cells[i][j]);
          }
        }
      }
      self.outline(g, span(maps[0], u.y), span(maps[1], u.x));
    });
    if (this.nd === 1) this.describeSteps(u, announce);
    else this.describe(u, announce);
  };

  /* The exact field as an outline, reaching into the padding drawn around the grid. */
  Explorer.prototype.outline = function (g, rows, cols) {
    var s = g.step;
    var y0 = Math.max(rows[0] / s * g.tall, -g.edge);
    var y1 = Math.min((rows[1] + 1) / s * g.tall, g.rows * g.tall + g.edge);
    var x0 = Math.max(cols[0] / s, -MARGIN), x1 = Math.min((cols[1] + 1) / s, g.cols + MARGIN);
    if (y1 <= y0 || x1 <= x0) return;
    g.outline.setAttribute("x", x0);
    g.outline.setAttribute("y", y0);
    g.outline.setAttribute("width", x1 - x0);
    g.outline.setAttribute("height", y1 - y0);
    g.outline.setAttribute("visibility", "visible");
  };

  Explorer.prototype.describe = function (u, announce) {
    var data = this.data, layer = data.layers[u.l], info = this.info;
    info.textContent = "";
    info.appendChild(el("p", {"class": "rfx-head"},
      layer.name + " \u00b7 unit (" + u.y + ", " + u.x + ")"));
    var list = el("dl", {});
    function item(term, value) {
      list.appendChild(el("dt", {}, term));
      list.appendChild(el("dd", {}, value));
    }
    item("Layer", layer.op + ", " + dims(layer.shape));
    item("Position", "row " + u.y + ", column " + u.x);
    var summary = layer.name + " unit " + u.y + ", " + u.x;
    if (u.l === 0) {
      item("Receptive field", "the pixel itself");
    } else {
      var maps = layer.from[0];
      var rows = span(maps[0], u.y), cols = span(maps[1], u.x);
      var size = [rows[1] - rows[0] + 1, cols[1] - cols[0] + 1];
      item("Receptive field", dims(size) + " input pixels");
      item("Input rows", range(rows[0], rows[1]));
      item("Input columns", range(cols[0], cols[1]));
      var fp = footprint(data, u.l, 0, u.y, u.x), inside = "none";
      if (fp) inside = dims([fp[0][1] - fp[0][0] + 1, fp[1][1] - fp[1][0] + 1]);
      if (!fp || fp[0][0] !== rows[0] || fp[0][1] !== rows[1] ||
          fp[1][0] !== cols[0] || fp[1][1] !== cols[1]) {
        item("Inside the image", inside);
      }
      item("Jump", pair(layer.jump[0], layer.jump[1]));
      item("Start", pair(layer.start[0], layer.start[1]));
      if (!layer.aligned) item("Paths", "not aligned: the field is their envelope");
      summary += ": receptive field " + dims(size) + ", input rows " + range(rows[0], rows[1]) +
        ", columns " + range(cols[0], cols[1]) + ", jump " + pair(layer.jump[0], layer.jump[1]) +
        ", start " + pair(layer.start[0], layer.start[1]) + ".";
    }
    info.appendChild(list);
    if (u.l > 1) {
      var earlier = el("ul", {"class": "rfx-earlier"});
      for (var k = 1; k < u.l; k++) {
        var name = data.layers[k].name, fpk = footprint(data, u.l, k, u.y, u.x), text;
        if (!data.layers[u.l].from[k]) text = "not on a path to " + layer.name;
        else if (!fpk) text = "only padding";
        else {
          text = "rows " + range(fpk[0][0], fpk[0][1]) + ", columns " + range(fpk[1][0], fpk[1][1]) +
            " (" + dims([fpk[0][1] - fpk[0][0] + 1, fpk[1][1] - fpk[1][0] + 1]) + ")";
        }
        var li = el("li", {});
        li.appendChild(el("span", {"class": "rfx-name"}, name));
        li.appendChild(document.createTextNode(": " + text));
        earlier.appendChild(li);
      }
      info.appendChild(el("p", {"class": "rfx-sub"}, "Seen in earlier layers"));
      info.appendChild(earlier);
    }
    if (announce) this.live.textContent = summary;
  };

  /* A sequence's unit: the input steps it reads and the steps it depends on in each layer. */
  Explorer.prototype.describeSteps = function (u, announce) {
    var data = this.data, layer = this.given.layers[u.l], info = this.info, t = u.x;
    info.textContent = "";
    info.appendChild(el("p", {"class": "rfx-head"}, layer.name + " \u00b7 unit " + t));
    var list = el("dl", {});
    function item(term, value) {
      list.appendChild(el("dt", {}, term));
      list.appendChild(el("dd", {}, value));
    }
    item("Layer", layer.op + ", " + dims(layer.shape));
    item("Position", "step " + t);
    var summary = layer.name + " unit " + t;
    if (u.l === 0) {
      item("Receptive field", "the step itself");
    } else {
      var steps = span(data.layers[u.l].from[0][1], t), size = steps[1] - steps[0] + 1;
      item("Receptive field", num(size) + " input step" + (size === 1 ? "" : "s"));
      item("Input steps", range(steps[0], steps[1]));
      var fp = footprint(data, u.l, 0, 0, t);
      if (!fp || fp[1][0] !== steps[0] || fp[1][1] !== steps[1]) {
        item("Inside the sequence", fp ? range(fp[1][0], fp[1][1]) : "none");
      }
      item("Jump", num(layer.jump[0]));
      item("Start", num(layer.start[0]));
      if (!layer.aligned) item("Paths", "not aligned: the field is their envelope");
      summary += ": receptive field " + num(size) + " input steps, " +
        range(steps[0], steps[1]) + ", jump " + num(layer.jump[0]) + ", start " +
        num(layer.start[0]) + ".";
    }
    info.appendChild(list);
    if (u.l > 1) {
      var earlier = el("ul", {"class": "rfx-earlier"});
      for (var k = 1; k < u.l; k++) {
        var fpk = footprint(data, u.l, k, 0, t), text;
        if (!data.layers[u.l].from[k]) text = "not on a path to " + layer.name;
        else if (!fpk) text = "only padding";
        else text = "steps " + range(fpk[1][0], fpk[1][1]) + " (" + (fpk[1][1] - fpk[1][0] + 1) + ")";
        var li = el("li", {});
        li.appendChild(el("span", {"class": "rfx-name"}, data.layers[k].name));
        li.appendChild(document.createTextNode(": " + text));
        earlier.appendChild(li);
      }
      info.appendChild(el("p", {"class": "rfx-sub"}, "Depends on, in earlier layers"));
      info.appendChild(earlier);
    }
    if (announce) this.live.textContent = summary;
  };

  function start() {
    var roots = document.querySelectorAll(".rfdocs-explorer");
    for (var i = 0; i < roots.length; i++) {
      var root = roots[i];
      if (root.getAttribute("data-rfx-ready")) continue;
      var script = root.querySelector("script.rfx-data");
      var data;
      try { data = JSON.parse(script.textContent); } catch (err) { continue; }
      if (!data || data.version !== VERSION) continue; // keep the static fallback
      root.explorer = new Explorer(root, data);
      root.setAttribute("data-rfx-ready", "1");
      var fallback = document.getElementById(root.id + "-fallback");
      if (fallback) fallback.hidden = true;
    }
  }

  window.rfdocsExplorer = {span: span, cells: cells, footprint: footprint, arrange: arrange,
                           stack: stack, start: start};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
