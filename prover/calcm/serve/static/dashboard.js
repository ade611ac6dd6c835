// calcm serve: draws each view's charts from the JSON embedded in the page, and runs the
// account view's what-if and inclusion forms against /api/account/<id>/{whatif,inclusion}.
// Chart.js comes from /static/chart.umd.js (node_modules/chart.js; no CDN).
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("calcm-data").textContent || "{}");
  const VIEW = document.body.dataset.view;
  const COLORS = ["#3b6fd8", "#d9622b", "#2e8b57", "#8e44ad", "#d29a00", "#17a2b8", "#b3202a", "#555"];
  const HAS_CHART = typeof window.Chart !== "undefined";

  function usd(x) {
    if (typeof x !== "number" || !isFinite(x)) return String(x);
    return x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function chart(id, config) {
    const el = document.getElementById(id);
    if (!el || !HAS_CHART) return null;
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    return new window.Chart(el, config);
  }
  function line(id, labels, series, opts) {
    return chart(id, { type: "line", data: { labels: labels, datasets: series.map((s, i) => Object.assign(
      { borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length], pointRadius: 0, borderWidth: 1.5 }, s)) },
      options: Object.assign({ plugins: { title: { display: true, text: opts.title } } }, opts.options || {}) });
  }
  function bar(id, labels, series, title, stacked) {
    return chart(id, { type: "bar", data: { labels: labels, datasets: series.map((s, i) => Object.assign(
      { backgroundColor: COLORS[i % COLORS.length] }, s)) },
      options: { plugins: { title: { display: true, text: title } }, scales: { x: { stacked: !!stacked }, y: { stacked: !!stacked } } } });
  }

  const views = {
    book() {
      const t = DATA.totals;
      bar("chart-baselines", ["portfolio (published)", "portfolio (float)", "siloed", "static"],
        [{ label: "total MM (USD)", data: [t.published_mm, t.mm, t.siloed_mm, t.static_mm] }], "Total maintenance margin vs baselines");
      const accts = DATA.accounts.filter((a) => a.utilisation !== null);
      bar("chart-utilisation", accts.map((a) => a.id), [{ label: "MM / equity", data: accts.map((a) => a.utilisation) }],
        "Margin utilisation (published MM / equity)");
    },
    account() {
      const c = DATA.explain.contributions;
      bar("chart-contrib", c.map((x) => x.instrument), [{ label: "ES contribution (USD)", data: c.map((x) => x.es) }],
        "Euler ES contribution per position");
      setupWhatif();
      setupInclusion();
    },
    model() {
      const v = DATA.vol;
      if (v.length) line("chart-vol", v[0].history.dates, v.map((u) => ({ label: u.underlying,
        data: u.history.sigma.map((s) => s * Math.sqrt(365)) })), { title: "Conditional volatility, annualised (GARCH)" });
      const sc = DATA.scenarios, u = sc.underlyings;
      if (u.length >= 2) {
        const kinds = Object.keys(sc.kinds);
        chart("chart-scenarios", { type: "scatter", data: { datasets: kinds.map((k, i) => ({ label: k,
          backgroundColor: COLORS[i % COLORS.length], pointRadius: k === "fhs" ? 2 : 4,
          data: sc.returns.map((r, s) => ({ x: r[0], y: r[1], k: sc.kind[s] })).filter((p) => p.k === k) })) },
          options: { plugins: { title: { display: true, text: "Scenario MPOR returns: " + u[0] + " vs " + u[1] } },
            scales: { x: { title: { display: true, text: u[0] } }, y: { title: { display: true, text: u[1] } } } } });
      }
      const bt = DATA.backtest;
      if (bt && bt.series.length) {
        let c = null;
        const draw = (i) => {
          const s = bt.series[i], lv = Object.keys(s.levels);
          const top = s.levels[lv[lv.length - 1]];
          if (c) c.destroy();
          c = line("chart-backtest", s.dates, [{ label: "realised loss", data: s.loss }].concat(
            lv.map((l) => ({ label: "VaR " + (100 * l).toFixed(1) + "%", data: s.levels[l].var })),
            lv.map((l) => ({ label: "ES " + (100 * l).toFixed(1) + "%", data: s.levels[l].es, borderDash: [4, 3] })),
            [{ label: "exception at " + (100 * lv[lv.length - 1]).toFixed(1) + "%", showLine: false, pointRadius: 4,
               data: s.loss.map((l, t) => (top.exceptions[t] ? l : null)) }]
          ), { title: "Backtest " + s.book + " (loss per USD of weight)" });
        };
        const sel = document.getElementById("backtest-book");
        if (sel) sel.addEventListener("change", () => draw(+sel.value));
        draw(0);
      }
    },
    cascade() {
      const p = DATA.prices, r = Object.keys(DATA.regimes);
      if (p.dates) line("chart-prices", p.dates, Object.keys(p.close).map((u) => {
        const xs = p.close[u], x0 = xs.find((x) => x !== null);
        return { label: u, data: xs.map((x) => (x === null ? null : 100 * x / x0)) };
      }), { title: "Prices (index, first day = 100)" });
      const dates = r.length ? DATA.regimes[r[0]].series.dates : [];
      bar("chart-liquidations", dates, r.map((k) => ({ label: k, data: DATA.regimes[k].series.liquidations })), "Liquidations per day");
      line("chart-fund", dates, r.map((k) => ({ label: k, data: DATA.regimes[k].series.fund })), { title: "Insurance fund (USD)" });
      line("chart-notional", dates, r.map((k) => ({ label: k, data: DATA.regimes[k].series.liquidated_notional })),
        { title: "Liquidated notional per day (USD)" });
    },
    keeper() {
      if (!DATA.exists) return;
      const k = Object.keys(DATA.per_kind);
      bar("chart-gas", k, [{ label: "gas used (mined)", data: k.map((x) => DATA.per_kind[x].gas) }], "Gas per submission kind");
      const m = DATA.submissions.filter((s) => s.status === "mined");
      bar("chart-latency", m.map((s) => s.key), [{ label: "latency (s)", data: m.map((s) => s.latency_s) }], "Latency per mined submission");
    },
  };

  async function post(url, body) {
    const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const doc = await r.json();
    return { ok: r.ok, doc: doc };
  }
  const accountUrl = () => "/api/account/" + encodeURIComponent(DATA.account.id);

  function whatifTable(d) {
    const b = d.before, a = d.after;
    const rows = [["mm", "MM"], ["im", "IM"], ["equity", "equity"], ["collateral_value", "collateral"], ["es", "ES"], ["addon", "add-on"]]
      .map(([k, label]) => `<tr><td>${label}</td><td data-field="before.${k}" data-raw="${esc(b.raw[k])}">${usd(b[k])}</td>` +
        `<td data-field="after.${k}" data-raw="${esc(a.raw[k])}">${usd(a[k])}</td><td>${usd(a[k] - b[k])}</td></tr>`);
    const ratio = (x) => (typeof x === "number" ? x.toFixed(3) : esc(x));
    rows.push(`<tr><td>margin ratio</td><td data-field="before.ratio">${ratio(b.ratio)}</td><td data-field="after.ratio">${ratio(a.ratio)}</td><td></td></tr>`);
    rows.push(`<tr><td>tier</td><td data-field="before.tier"><span class="tier tier-${esc(b.tier)}">${esc(b.tier)}</span></td>` +
      `<td data-field="after.tier"><span class="tier tier-${esc(a.tier)}">${esc(a.tier)}</span></td><td></td></tr>`);
    const per = d.per_trade.map((p) => `<tr><td>${esc(p.instrument)}</td><td>${p.size > 0 ? "+" : ""}${p.size}</td>` +
      `<td data-field="marginal_im" data-value="${p.marginal_im}">${usd(p.marginal_im)}</td>` +
      `<td data-field="max_size" data-value="${esc(p.max_size)}">${p.max_size === "unbounded" ? "unbounded (searched to " + p.search_limit + ")" : p.max_size}</td></tr>`);
    const cash = d.cash.map((c) => esc(c.asset) + " " + (c.amount > 0 ? "+" : "") + c.amount).join(", ");
    return `<table id="whatif-table"><thead><tr><th>measure</th><th>before</th><th>after</th><th>change</th></tr></thead><tbody>${rows.join("")}</tbody></table>` +
      (per.length ? `<table id="whatif-trades"><thead><tr><th>instrument</th><th>size</th><th>marginal IM</th><th>largest size keeping the tier</th></tr></thead><tbody>${per.join("")}</tbody></table>` : "") +
      (cash ? `<p class="sub">cash: ${cash}</p>` : "");
  }

  function setupWhatif() {
    const form = document.getElementById("whatif-form"), out = document.getElementById("whatif-result");
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const trades = [];
      form.querySelectorAll(".trade-row").forEach((row) => {
        const i = row.querySelector(".trade-instrument").value, s = row.querySelector(".trade-size").value.trim();
        if (i && s) trades.push(i + ":" + s);
      });
      const body = { trades: trades, deposits: [], withdrawals: [], search_factor: document.getElementById("search-factor").value };
      const asset = document.getElementById("cash-asset").value, amount = document.getElementById("cash-amount").value.trim();
      if (asset && amount) body[document.getElementById("cash-kind").value === "deposit" ? "deposits" : "withdrawals"].push(asset + ":" + amount);
      out.innerHTML = '<p class="sub">computing…</p>';
      const r = await post(accountUrl() + "/whatif", body);
      out.innerHTML = r.ok ? whatifTable(r.doc) : `<p class="error" id="whatif-error">${esc(r.doc.error)}</p>`;
      out.dataset.state = r.ok ? "done" : "error";
    });
  }

  function setupInclusion() {
    const form = document.getElementById("inclusion-form"), out = document.getElementById("inclusion-result");
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let mine;
      try { mine = JSON.parse(document.getElementById("inclusion-account").value); } catch (e) {
        out.innerHTML = `<p class="error" id="inclusion-error">not valid JSON: ${esc(e.message)}</p>`;
        out.dataset.state = "error";
        return;
      }
      out.innerHTML = '<p class="sub">checking…</p>';
      const r = await post(accountUrl() + "/inclusion", mine);
      if (!r.ok) {
        out.innerHTML = `<p class="error" id="inclusion-error">${esc(r.doc.error)}</p>`;
        out.dataset.state = "error";
        return;
      }
      const d = r.doc;
      const rows = d.checks.map((c) => `<tr data-check="${esc(c.name)}"><td>${esc(c.name)}</td>` +
        `<td class="${c.ok ? "ok" : "error"}">${c.ok ? "ok" : "FAILED"}</td><td style="text-align:left;white-space:normal">${esc(c.detail)}</td></tr>`);
      out.innerHTML = `<p class="verdict ${d.ok ? "ok" : "error"}" id="inclusion-verdict" data-ok="${d.ok}">` +
        (d.ok ? "included: your leaf, path, model and tier match the record" : "NOT verified: the " + esc(d.failed) + " check failed") +
        `</p><p class="sub">against ${esc(d.record)}; model tier ${esc(d.model_tier)}, recorded tier ${esc(d.recorded_tier)}</p>` +
        `<table id="inclusion-checks"><thead><tr><th>check</th><th>result</th><th>detail</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
      out.dataset.state = "done";
    });
  }

  if (views[VIEW]) views[VIEW]();
})();
