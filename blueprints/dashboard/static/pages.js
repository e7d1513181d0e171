// What each page does, chosen by <body data-page>. Data comes from the APIs (api.js); charts
// are drawn here (chart.js).
import {api, keys} from "./api.js";
import {drawChart} from "./chart.js";

const BINS = 30;
const MAX_PAGES = 20;  // 20,000 records at most for the overview's charts
const status = document.getElementById("status");

function say(message, isError = false) {
  status.textContent = message;
  status.className = isError ? "status error" : "status";
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  row.appendChild(td);
  return td;
}

function fillTable(table, rows, columns) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows.map((item) => {
    const row = document.createElement("tr");
    for (const column of columns) cell(row, typeof column === "function" ? column(item) : item[column]);
    return row;
  }));
}

function percentile(values, fraction) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

// Prometheus text: the sum of a metric's samples (over all label sets).
function metricSum(text, name) {
  return text.split("\n").filter((line) => line.startsWith(name + " ") || line.startsWith(name + "{"))
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/).pop()), 0);
}

async function overview() {
  const windowSelect = document.getElementById("window");
  async function load() {
    const span = Number(windowSelect.value) * 1000, end = Date.now(), start = end - span;
    const startTime = new Date(start).toISOString();
    let records = [], cursor = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = {start_time: startTime, limit: 1000};
      if (cursor) params.cursor = cursor;
      const result = await api.usagePage(params);
      records = records.concat(result.records);
      cursor = result.next;
      if (!cursor) break;
    }
    const width = span / BINS;
    const bins = Array.from({length: BINS}, () => ({requests: 0, errors: 0, latency: [], ttft: [], input: 0,
                                                     output: 0, cost: 0}));
    const perKey = {};
    for (const record of records) {
      const index = Math.min(BINS - 1, Math.max(0, Math.floor((Date.parse(record.timestamp) - start) / width)));
      const bin = bins[index];
      bin.requests += 1;
      if (record.status === "error") bin.errors += 1;
      bin.latency.push(record.latency_ms);
      if (record.ttft_ms !== null) bin.ttft.push(record.ttft_ms);
      bin.input += record.input_tokens || 0;
      bin.output += record.output_tokens || 0;
      bin.cost += record.cost_usd || 0;
      const key = record.api_key_name || "unknown";
      perKey[key] = (perKey[key] || 0) + (record.cost_usd || 0);
    }
    const labels = bins.map((_, index) => {
      const at = new Date(start + width * index);
      return span > 86400000 ? at.toLocaleDateString() : at.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
    });
    const series = (name, pick, kind = "line") => ({name, kind, values: bins.map(pick)});
    drawChart(document.getElementById("chart-requests"), labels,
              [series("requests", (b) => b.requests, "bar"), series("errors", (b) => b.errors, "bar")]);
    drawChart(document.getElementById("chart-latency"), labels,
              [series("p50", (b) => percentile(b.latency, 0.5)), series("p99", (b) => percentile(b.latency, 0.99))]);
    drawChart(document.getElementById("chart-ttft"), labels,
              [series("p50", (b) => percentile(b.ttft, 0.5)), series("p99", (b) => percentile(b.ttft, 0.99))]);
    drawChart(document.getElementById("chart-tokens"), labels,
              [series("input", (b) => b.input, "bar"), series("output", (b) => b.output, "bar")]);
    drawChart(document.getElementById("chart-spend"), labels, [series("USD", (b) => b.cost, "bar")]);
    const keyNames = Object.keys(perKey).sort();
    drawChart(document.getElementById("chart-keys"), keyNames,
              [{name: "USD", kind: "bar", values: keyNames.map((name) => perKey[name])}]);
    const [summary, metrics] = await Promise.all([api.usageSummary({start_time: startTime}), api.metrics()]);
    const tiles = [["Requests", summary.total_requests], ["Errors", summary.error_count],
                   ["Tokens", summary.total_tokens], ["Spend (USD)", (summary.total_cost_usd || 0).toFixed(4)],
                   ["Avg latency (ms)", summary.avg_latency_ms],
                   ["In flight", metricSum(metrics, "cortex_inflight_requests")],
                   ["Upstream errors (all time)", metricSum(metrics, "cortex_upstream_errors_total")],
                   ["Trace spans dropped", metricSum(metrics, "cortex_otel_spans_total") -
                                           metricSum(metrics.split("\n").filter((l) => l.includes('"exported"')).join("\n"),
                                                     "cortex_otel_spans_total")]];
    const container = document.getElementById("tiles");
    container.replaceChildren(...tiles.map(([label, value]) => {
      const tile = document.createElement("div");
      tile.className = "tile";
      tile.dataset.tile = label;
      tile.append(label, Object.assign(document.createElement("b"), {textContent: String(value)}));
      return tile;
    }));
    say(`${records.length} requests in the window`);
  }
  windowSelect.addEventListener("change", () => load().catch((e) => say(e.message, true)));
  document.getElementById("refresh").addEventListener("click", () => load().catch((e) => say(e.message, true)));
  await load();
}

async function inflight() {
  const table = document.getElementById("inflight");
  async function load() {
    const body = await api.inflight();
    document.getElementById("inflight-count").textContent = `(${body.count})`;
    fillTable(table, body.requests, ["id", "method", "uri", "api_key_name", "provider", "model", "elapsed_secs",
                                     "idle_secs"]);
    say(`updated ${new Date().toLocaleTimeString()}`);
  }
  await load();
  setInterval(() => load().catch((e) => say(e.message, true)), 2000);
}

async function providers() {
  const body = await api.providersHealth();
  const cooling = (p) => `${p.keys.length} (${p.keys.filter((k) => k.cooling_down_secs > 0)
    .map((k) => `#${k.index}: ${k.cooling_down_secs}s`).join(", ") || "none"})`;
  fillTable(document.getElementById("providers"), body.providers,
            ["provider", "state", "consecutive_failures", "failures", "successes", "last_error", "retry_in_secs", cooling]);
  say(`worker ${body.worker}`);
}

function usageFilters(form) {
  const params = {};
  for (const [name, value] of new FormData(form)) {
    if (!value) continue;
    params[name] = name.endsWith("_time") ? new Date(value).toISOString() : value;
  }
  return params;
}

async function usage() {
  const form = document.getElementById("usage-filters"), more = document.getElementById("more");
  const csv = document.getElementById("csv"), table = document.getElementById("usage");
  const columns = ["timestamp", "api_key_name", "provider", "model", "endpoint", "status", "input_tokens",
                   "output_tokens", "latency_ms", "ttft_ms", "cost_usd", (r) => (r.cached ? "hit" : "")];
  let rows = [], cursor = null;
  async function load(append) {
    const params = usageFilters(form);
    if (append && cursor) params.cursor = cursor;
    const result = await api.usagePage(params);
    rows = append ? rows.concat(result.records) : result.records;
    cursor = result.next;
    more.hidden = !cursor;
    fillTable(table, rows, columns);
    const csvParams = {...params};
    delete csvParams.limit;
    delete csvParams.cursor;
    csv.href = csv.pathname + "?" + new URLSearchParams(csvParams);
    say(`${rows.length} records`);
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); load(false).catch((e) => say(e.message, true)); });
  more.addEventListener("click", () => load(true).catch((e) => say(e.message, true)));
  await load(false);
}

async function keysPage() {
  const table = document.getElementById("keys"), form = document.getElementById("key-form");
  const shown = document.getElementById("new-key");
  async function load() {
    const list = await keys.list();
    const body = table.tBodies[0];
    body.replaceChildren(...list.map((key) => {
      const row = document.createElement("tr");
      row.dataset.key = key.name;
      for (const value of [key.name, key.prefix ? `${key.prefix}…` : "", key.permissions.join(", "), key.models.join(", "), key.budget, key.period,
                           key.rpm]) cell(row, value);
      if (key.readOnly) {
        cell(row, "cortex.yaml");
      } else {
        const revoke = Object.assign(document.createElement("button"), {type: "button", textContent: "Revoke"});
        revoke.addEventListener("click", async () => {
          await keys.revoke(key.id).catch((e) => say(e.message, true));
          await load();
        });
        cell(row, "").appendChild(revoke);
      }
      return row;
    }));
    say(`${list.length} keys`);
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const spec = {name: data.get("name"), permissions: data.getAll("permissions")};
    const models = (data.get("models") || "").split(",").map((m) => m.trim()).filter(Boolean);
    if (models.length) spec.models = models;
    if (data.get("max_budget_usd")) spec.budget = Number(data.get("max_budget_usd"));
    if (data.get("budget_duration")) spec.period = data.get("budget_duration");
    if (data.get("rpm")) spec.rpm = Number(data.get("rpm"));
    try {
      const created = await keys.create(spec);
      shown.hidden = false;
      shown.querySelector("code").textContent = created.key;
      form.reset();
      await load();
    } catch (error) {
      say(error.message, true);
    }
  });
  await load();
}

async function settings() {
  for (const form of document.querySelectorAll("form[data-section]")) {
    const section = form.dataset.section;
    const values = await api.settings(section);
    for (const [name, value] of Object.entries(values)) {
      const input = form.elements.namedItem(name);
      if (!input) continue;
      if (input.type === "checkbox") input.checked = value; else input.value = value;
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const changes = {};
      for (const input of form.querySelectorAll("input")) {
        changes[input.name] = input.type === "checkbox" ? input.checked : Number(input.value);
      }
      try {
        await api.saveSettings(section, changes);
        say(`${section} saved`);
      } catch (error) {
        say(error.message, true);
      }
    });
  }
  say("loaded");
}

const PAGES = {overview, inflight, providers, usage, keys: keysPage, settings};
const page = PAGES[document.body.dataset.page];
if (page) page().catch((error) => say(error.message, true));
