/*
 * resolverd's page, the parts that need a script (the page works without):
 *   /        the TTLs count down every second and are read again from
 *            /api/lookup every few seconds;
 *   /trace   the walk of a name drawn as SVG from /api/trace: one row per
 *            zone cut (root, TLD, ...), a box per server asked, referrals,
 *            glue, cache hits, the answer, and the chain of trust.
 * Plain DOM and SVG; nothing is loaded from anywhere but this server.
 */
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";

  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function h(name, attrs, text) {
    const e = document.createElement(name);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function api(path, params) {
    const q = new URLSearchParams(params).toString();
    return fetch(path + "?" + q, {cache: "no-store"}).then(function (r) {
      return r.json();
    });
  }

  /* ------------------------------------------------------------- / */

  function countdown() {
    const tiers = document.getElementById("tiers");
    if (!tiers) return;
    let base = performance.now();

    function tick() {
      const gone = Math.floor((performance.now() - base) / 1000);
      tiers.querySelectorAll(".ttl").forEach(function (s) {
        const left = Math.max(0, Number(s.dataset.ttl) - gone);
        s.textContent = String(left);
        s.classList.toggle("expired", left === 0);
      });
    }

    function refresh() {
      api("/api/lookup", {name: tiers.dataset.name, type: tiers.dataset.type})
        .then(function (j) {
          const by = {};
          (j.lines || []).forEach(function (o) {
            if (o.owner === undefined) return;
            const key = o.owner + "|" + (o.type || "") + "|" + o.kind;
            by[(o.tier || "main") + "#" + key] = o;
          });
          let changed = false;
          tiers.querySelectorAll("section.tier").forEach(function (sec) {
            let lead = null;
            sec.querySelectorAll("tr[data-key]").forEach(function (tr) {
              const o = by[sec.dataset.tier + "#" + tr.dataset.key];
              const s = tr.querySelector(".ttl");
              if (o) {
                s.dataset.ttl = o.ttl;
                tr.classList.remove("gone");
                delete by[sec.dataset.tier + "#" + tr.dataset.key];
                const kind = o.kind;
                if ((kind === "answer" || kind === "NXDOMAIN" || kind === "NODATA") &&
                    (lead === null || o.ttl < lead)) lead = o.ttl;
              } else {
                s.dataset.ttl = 0;
                tr.classList.add("gone");
              }
            });
            const l = sec.querySelector(".ttl.lead");
            if (l) l.dataset.ttl = lead === null ? 0 : lead;
          });
          /* entries the page does not show yet */
          for (const k in by) if (by[k].tier !== undefined || k.startsWith("main#")) changed = true;
          let note = document.getElementById("changed");
          if (changed && !note) {
            note = h("p", {id: "changed", class: "changed"});
            const a = h("a", {href: location.pathname + "?" +
              new URLSearchParams({name: tiers.dataset.name, type: tiers.dataset.type})},
              "the caches changed: look again");
            note.appendChild(a);
            tiers.parentNode.insertBefore(note, tiers);
          }
          base = performance.now();
          tick();
        })
        .catch(function () { /* the countdown goes on */ });
    }

    tick();
    setInterval(tick, 1000);
    setInterval(refresh, 5000);
  }

  /* --------------------------------------------------------- /trace */

  const COLORS = {
    secure: ["#c8f0c8", "#1f8a4c"],
    insecure: ["#e0e0e0", "#707070"],
    bogus: ["#ffc8c8", "#c0392b"],
    indeterminate: ["#fff3c4", "#a08000"],
  };

  /* Words of @p s in lines of at most @p n characters. */
  function wrap(s, n, max) {
    const out = [];
    let cur = "";
    s.split(/\s+/).forEach(function (w) {
      while (w.length > n) {          /* a long name: cut it */
        if (cur) { out.push(cur); cur = ""; }
        out.push(w.slice(0, n));
        w = w.slice(n);
      }
      if ((cur + " " + w).trim().length > n) { out.push(cur); cur = w; }
      else cur = (cur + " " + w).trim();
    });
    if (cur) out.push(cur);
    if (max && out.length > max) {
      out.length = max;
      out[max - 1] = out[max - 1].slice(0, n - 1) + "…";
    }
    return out;
  }

  function textLines(g, x, y, lines, attrs) {
    const t = el("text", Object.assign({x: x, y: y}, attrs || {}));
    lines.forEach(function (ln, i) {
      const span = el("tspan", {x: x, dy: i ? "1.3em" : "0"}, ln);
      if (typeof ln === "object") {
        span.textContent = ln.t;
        if (ln.cls) span.setAttribute("class", ln.cls);
        if (ln.weight) span.setAttribute("font-weight", ln.weight);
        if (ln.fill) span.setAttribute("fill", ln.fill);
      }
      t.appendChild(span);
    });
    g.appendChild(t);
    return t;
  }

  function arrowDefs(svg) {
    const defs = el("defs");
    [["arrow", "#39465c"], ["arrow-ref", "#2f6fd6"], ["arrow-ok", "#1f8a4c"],
     ["arrow-bad", "#c0392b"]].forEach(function (a) {
      const m = el("marker", {id: a[0], viewBox: "0 0 10 10", refX: "9", refY: "5",
        markerWidth: "8", markerHeight: "8", orient: "auto-start-reverse"});
      m.appendChild(el("path", {d: "M 0 0 L 10 5 L 0 10 z", fill: a[1]}));
      defs.appendChild(m);
    });
    svg.appendChild(defs);
  }

  function line(svg, x1, y1, x2, y2, color, marker, dash) {
    const p = el("path", {d: "M" + x1 + " " + y1 + " L" + x2 + " " + y2,
      stroke: color, "stroke-width": "1.6", fill: "none",
      "marker-end": "url(#" + marker + ")"});
    if (dash) p.setAttribute("stroke-dasharray", dash);
    svg.appendChild(p);
  }

  /* The steps of the phase to draw: the walk from the root when there is
   * one, else the question's own. */
  function phases(lines) {
    const out = {before: [], after: [], root: null, chain: null, only: []};
    let cur = out.only;
    let summaries = [];
    lines.forEach(function (o) {
      if (o.walk !== undefined) {
        cur = [];
        out[o.phase] = {tier: o.walk, steps: cur};
      } else if (o.when !== undefined) {
        out[o.when === "before" ? "before" : "after"].push(o);
      } else if (o.summary) {
        summaries.push(o);
        cur.summary = o;
      } else if (o.kind !== undefined) {
        cur.push(o);
      }
    });
    out.summaries = summaries;
    return out;
  }

  function serverName(step) {
    const m = /^to (\S+)/.exec(step.detail || "");
    return m ? m[1] : "?";
  }

  /* Rows: one per zone cut, in the order the walk reached them, each with
   * the servers asked there; and the results, problems and DNSSEC steps. */
  function model(steps) {
    const rows = [], byZone = {}, dnssec = [], results = [], cache = [];
    let lastServer = null;

    function row(zone) {
      if (!byZone[zone]) {
        byZone[zone] = {zone: zone, servers: [], byKey: {}, how: "", ref: null};
        rows.push(byZone[zone]);
      }
      return byZone[zone];
    }

    steps.forEach(function (s) {
      switch (s.kind) {
      case "cut": {
        const r = row(s.zone);
        if (!r.how) r.how = s.detail;
        break;
      }
      case "send": {
        const r = row(s.zone);
        const ns = serverName(s);
        const key = ns + "|" + s.server;
        let sv = r.byKey[key];
        if (!sv) {
          sv = {ns: ns, addr: s.server, asks: [], outcome: [], bad: false, row: r};
          r.byKey[key] = sv;
          r.servers.push(sv);
        }
        sv.asks.push({q: s.qname + " " + s.type, sub: s.depth > 0,
          min: /minimised/.test(s.detail), tcp: s.tcp});
        lastServer = sv;
        break;
      }
      case "reply":
        if (s.server !== "-" && lastServer) {
          lastServer.outcome.push(s.rtt_ms + " ms: " + s.detail.replace(/^reply /, ""));
        } else if (s.depth === 0) {
          results.push({kind: "answer", text: s.detail, from: lastServer});
        }
        break;
      case "referral": {
        const m = /^referral to (\S+?):/.exec(s.detail);
        if (m && lastServer) {
          lastServer.ref = m[1];
          lastServer.refNames = s.detail.replace(/^[^:]*:\s*/, "");
          lastServer.glue = [];
        }
        break;
      }
      case "glue":
        if (lastServer && lastServer.glue) lastServer.glue.push(s.detail);
        break;
      case "lame":
      case "timeout":
      case "truncated":
      case "ignored":
        if (lastServer) {
          lastServer.bad = s.kind !== "truncated";
          lastServer.outcome.push(s.kind.toUpperCase() + ": " + s.detail);
        }
        break;
      case "cache":
        cache.push(s);
        if (s.depth === 0) results.push({kind: "cache", text: s.qname + " " + s.type + ": " + s.detail, from: null});
        break;
      case "cname":
      case "nxdomain":
      case "nodata":
        if (s.depth === 0) results.push({kind: s.kind, text: s.detail, from: lastServer});
        break;
      case "fail":
        results.push({kind: "fail", text: s.detail, from: lastServer});
        break;
      case "dnssec":
        dnssec.push(s);
        break;
      }
    });
    return {rows: rows, dnssec: dnssec, results: results, cache: cache};
  }

  const ZW = 170, SW = 250, GAP = 26, ROWGAP = 70, LEFT = 20, DW = 330;

  function serverBox(svg, sv, x, y) {
    const g = el("g", {class: "server", "data-server": sv.ns + "|" + sv.addr});
    const lines = [{t: sv.ns, weight: "600"}, {t: sv.addr, cls: "mono", fill: "#5d6678"}];
    sv.asks.slice(0, 3).forEach(function (a) {
      lines.push({t: "asked " + a.q + (a.min ? " (minimised)" : "") +
        (a.sub ? " (sub-question)" : "") + (a.tcp ? " TCP" : ""), fill: a.sub ? "#7a5a00" : "#1d2330"});
    });
    if (sv.asks.length > 3) lines.push({t: "and " + (sv.asks.length - 3) + " more", fill: "#5d6678"});
    sv.outcome.slice(0, 2).forEach(function (o) {
      wrap(o, 36, 1).forEach(function (w) {
        lines.push({t: w, fill: /^(LAME|TIMEOUT|IGNORED)/.test(o) ? "#c0392b" : "#1f8a4c"});
      });
    });
    const hgt = 14 + lines.length * 17;
    g.appendChild(el("rect", {x: x, y: y, width: SW, height: hgt, rx: 6,
      fill: sv.bad ? "#fdecea" : "#ffffff", stroke: sv.bad ? "#c0392b" : "#39465c",
      "stroke-width": "1.4"}));
    textLines(g, x + 10, y + 19, lines, {"font-size": "13"});
    svg.appendChild(g);
    sv.box = {x: x, y: y, w: SW, h: hgt};
    return hgt;
  }

  function draw(view, j) {
    const ph = phases(j.lines || []);
    const walk = ph.root || ph.chain || {tier: null, steps: ph.only};
    const m = model(walk.steps);
    const last = ph.summaries[ph.summaries.length - 1];
    view.textContent = "";

    /* the summary, in words */
    const rc = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
    const p = h("p", {class: "summary"});
    if (j.error) {
      p.textContent = "could not trace " + j.name + ": " + j.error;
      p.className = "error";
      view.appendChild(p);
      return;
    }
    if (last) {
      const walked = ph.summaries[0];
      p.innerHTML = "";
      p.appendChild(h("b", {}, j.name + " " + j.type + ": " + (rc[last.rcode] || last.rcode)));
      p.appendChild(document.createTextNode(
        /* the walk's own reason first: a tier above says less */
        (last.failed ? " (" + (walked.failed ? walked.reason : last.reason) + ")" : "") +
        ", " + last.answers + " answer record" +
        (last.answers === 1 ? "" : "s") + "; " +
        (walk.steps === ph.only || ph.root ? (walked.upstream_queries + " upstream quer" +
          (walked.upstream_queries === 1 ? "y" : "ies") + " in " + walked.total_ms + " ms") :
          "answered by a tier's cache") +
        (ph.root ? "; walked by the " + ph.root.tier + " tier, then handed up the chain" : "")));
      view.appendChild(p);
    }

    /* tier band */
    const bandH = ph.before.length ? 120 : 0;
    let width = LEFT + ZW + GAP + Math.max(1, ...m.rows.map(function (r) { return r.servers.length; })) * (SW + GAP);
    if (m.dnssec.length) width += DW + GAP;
    width = Math.max(width, LEFT + ph.before.length * 200 + 220);

    const svg = el("svg", {xmlns: SVG, id: "walksvg", width: width, height: 100,
      "font-size": "13", role: "img", "aria-label": "the walk of " + j.name});
    arrowDefs(svg);
    let y = 10;

    if (ph.before.length) {
      textLines(svg, LEFT, y + 14, [{t: "the cache tiers, from the one asked first (before → after)", weight: "600"}]);
      let x = LEFT;
      ph.before.forEach(function (b, i) {
        const after = ph.after[i] || {};
        const g = el("g", {class: "tier", "data-tier": b.tier});
        g.appendChild(el("rect", {x: x, y: y + 26, width: 170, height: 74, rx: 8,
          fill: b.hit ? "#e6f5ec" : "#f1f3f7", stroke: b.hit ? "#1f8a4c" : "#8a94a6", "stroke-width": "1.4"}));
        textLines(g, x + 10, y + 46, [{t: b.tier, weight: "600"},
          {t: b.hit ? "hit, " + b.ttl + " s left" : "miss", fill: b.hit ? "#1f8a4c" : "#5d6678"},
          {t: after.hit ? "after: " + after.ttl + " s left of " + after.orig_ttl : "after: miss", fill: "#5d6678"}]);
        svg.appendChild(g);
        if (i + 1 < ph.before.length) line(svg, x + 172, y + 63, x + 196, y + 63, "#39465c", "arrow");
        x += 200;
      });
      if (ph.root) {
        line(svg, x - 28, y + 63, x + 4, y + 63, "#39465c", "arrow");
        textLines(svg, x + 8, y + 58, [{t: "the " + ph.root.tier + " tier", weight: "600"}, {t: "walks the tree:"}]);
      }
      y += bandH;
    }

    /* the question */
    const first = walk.steps[0];
    if (first) {
      svg.appendChild(el("rect", {x: LEFT, y: y, width: 320, height: 30, rx: 6, fill: "#1d2330"}));
      textLines(svg, LEFT + 10, y + 20, [{t: "question: " + first.qname + " " + first.type, fill: "#ffffff", weight: "600"}]);
      y += 50;
    }
    const top = y;

    /* zone rows */
    m.rows.forEach(function (r, i) {
      const zx = LEFT, zy = y;
      let x = LEFT + ZW + GAP, hmax = 56;
      r.servers.forEach(function (sv) {
        hmax = Math.max(hmax, serverBox(svg, sv, x, y));
        x += SW + GAP;
      });
      const g = el("g", {class: "zone", "data-zone": r.zone});
      g.appendChild(el("ellipse", {cx: zx + ZW / 2, cy: zy + 28, rx: ZW / 2, ry: 26,
        fill: "#eef3fd", stroke: "#5b7fc7", "stroke-width": "1.4"}));
      textLines(g, zx + ZW / 2, zy + 33, [{t: r.zone === "." ? ". (root)" : r.zone, weight: "600"}],
        {"text-anchor": "middle"});
      textLines(g, zx + ZW / 2, zy + 72, wrap(r.how || "from the referral", 26, 2).map(function (t) {
        return {t: t, fill: "#5d6678"};
      }), {"text-anchor": "middle", "font-size": "12"});
      svg.appendChild(g);
      r.servers.forEach(function (sv) {
        line(svg, zx + ZW, zy + 28, sv.box.x - 2, sv.box.y + 20, "#39465c", "arrow");
      });
      r.y = zy;
      r.h = hmax;
      y += hmax + ROWGAP;
    });

    /* referrals: from the server down to the zone it named */
    m.rows.forEach(function (r) {
      r.servers.forEach(function (sv) {
        if (!sv.ref) return;
        const to = m.rows.find(function (q) { return q.zone === sv.ref; });
        if (!to || to === r) return;
        const x1 = sv.box.x + 30, y1 = sv.box.y + sv.box.h;
        line(svg, x1, y1, LEFT + ZW / 2 + 40, to.y + 2, "#2f6fd6", "arrow-ref");
        const glue = (sv.glue || []).map(function (gl) {
          return gl.replace(/^accepted (\S+) (\S+):.*$/, "glue $1 $2").replace(/^rejected /, "rejected ");
        });
        textLines(svg, x1 + 8, y1 + 18, [{t: "referral to " + sv.ref, fill: "#2f6fd6", weight: "600"}]
          .concat(glue.slice(0, 2).map(function (t) { return {t: t, fill: "#2f6fd6"}; })),
          {"font-size": "12"});
      });
    });

    /* results: the answer, a cache hit, a failure */
    m.results.forEach(function (res) {
      const col = res.kind === "fail" ? ["#fdecea", "#c0392b"] :
        res.kind === "cache" ? ["#ffffff", "#7a5a00"] : ["#e6f5ec", "#1f8a4c"];
      const x = res.from ? res.from.box.x : LEFT + ZW + GAP;
      const lines = wrap((res.kind === "fail" ? "FAILED: " : res.kind === "cache" ? "from the cache: " : "") +
        res.text, 38, 3);
      const g = el("g", {class: "result " + res.kind});
      g.appendChild(el("rect", {x: x, y: y, width: SW + 60, height: 14 + lines.length * 17, rx: 6,
        fill: col[0], stroke: col[1], "stroke-width": "1.6",
        "stroke-dasharray": res.kind === "cache" ? "5 4" : ""}));
      textLines(g, x + 10, y + 19, lines.map(function (t) { return {t: t, fill: col[1]}; }));
      svg.appendChild(g);
      if (res.from) line(svg, res.from.box.x + res.from.box.w / 2, res.from.box.y + res.from.box.h,
        x + (SW + 60) / 2, y - 2, col[1], res.kind === "fail" ? "arrow-bad" : "arrow-ok");
      y += 14 + lines.length * 17 + 24;
    });

    /* the chain of trust, beside the rows */
    let dy = top;
    if (m.dnssec.length) {
      const dx = width - DW - 10;
      textLines(svg, dx, dy - 10, [{t: "DNSSEC: the chain of trust", weight: "600"}]);
      m.dnssec.forEach(function (s, i) {
        const c = COLORS[s.state] || COLORS.indeterminate;
        const lines = [{t: s.state || "?", weight: "600", fill: c[1]}].concat(
          wrap(s.detail, 44, 3).map(function (t) { return {t: t}; }));
        const hh = 12 + lines.length * 16;
        const g = el("g", {class: "dnssec " + (s.state || ""), "data-state": s.state || ""});
        g.appendChild(el("rect", {x: dx, y: dy, width: DW, height: hh, rx: 8, fill: c[0], stroke: c[1],
          "stroke-width": s.state === "bogus" ? "2.4" : "1.4"}));
        textLines(g, dx + 10, dy + 17, lines, {"font-size": "12"});
        svg.appendChild(g);
        if (i + 1 < m.dnssec.length) line(svg, dx + DW / 2, dy + hh, dx + DW / 2, dy + hh + 14, c[1], "arrow");
        dy += hh + 16;
      });
    }
    svg.setAttribute("height", Math.max(y, dy) + 10);
    view.appendChild(svg);

    const legend = h("div", {class: "legend"});
    [["l-zone", "zone cut"], ["l-server", "server asked"], ["l-ref", "referral (with glue)"],
     ["l-secure", "secure"], ["l-insecure", "insecure"], ["l-bogus", "bogus"]].forEach(function (l) {
      legend.appendChild(h("span", {class: l[0]}, l[1]));
    });
    view.appendChild(legend);

    /* every step as text, for reading along */
    const det = h("details", {class: "steps"});
    det.appendChild(h("summary", {}, "every step (" + walk.steps.length + ")"));
    const tb = h("table", {class: "steps"});
    walk.steps.forEach(function (s) {
      const tr = h("tr");
      tr.appendChild(h("td", {}, s.t_ms + " ms"));
      tr.appendChild(h("td", {}, "  ".repeat(s.depth) + s.kind));
      tr.appendChild(h("td", {}, (s.server !== "-" ? s.server + " " : "") + s.detail));
      tb.appendChild(tr);
    });
    det.appendChild(tb);
    view.appendChild(det);
    view.dataset.drawn = "1";
  }

  function traceView() {
    const view = document.getElementById("walkview");
    if (!view) return;
    const params = {name: view.dataset.name, type: view.dataset.type};
    if (view.dataset.cold === "1") params.cold = "1";
    api("/api/trace", params).then(function (j) {
      window.resolverdTrace = j;   /* what was drawn, for tests and curious readers */
      draw(view, j);
    })
      .catch(function (e) {
        view.textContent = "";
        view.appendChild(h("p", {class: "error"}, "could not trace: " + e));
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    countdown();
    traceView();
  });
})();
