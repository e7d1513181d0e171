// Every call the dashboard makes, in one place. The session cookie authenticates them; writes
// carry the page's CSRF token (app/sessions.py).
const csrf = document.querySelector('meta[name="csrf-token"]').content;

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(method, path, body) {
  const headers = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {method, headers, credentials: "same-origin",
                                      body: body === undefined ? undefined : JSON.stringify(body)});
  if (!response.ok) {
    let message = response.statusText;
    try {
      const error = (await response.json()).error;
      message = (error && error.message) || message;
    } catch (_) { /* not JSON: keep the status text */ }
    throw new ApiError(response.status, message);
  }
  return response;
}

const json = (response) => response.json();

export const api = {
  // One page of usage records, newest first; `next` is the cursor of the following page.
  usagePage: async (params) => {
    const response = await call("GET", "/usage?" + new URLSearchParams(params));
    return {records: await response.json(), next: response.headers.get("X-Next-Cursor")};
  },
  usageSummary: (params) => call("GET", "/usage/summary?" + new URLSearchParams(params)).then(json),
  metrics: () => call("GET", "/metrics").then((response) => response.text()),
  inflight: () => call("GET", "/api/admin/inflight").then(json),
  providersHealth: () => call("GET", "/api/admin/providers/health").then(json),
  settings: (section) => call("GET", `/api/config/${section}`).then(json),
  saveSettings: (section, values) => call("PUT", `/api/config/${section}`, values).then(json),
};

// The runtime keys API (/api/keys): the only code that knows its paths and fields.
// A key as the page shows it: {id, name, prefix, permissions, models, budget, period, rpm, readOnly}.
const RATE_PER_MINUTE = /^\s*(\d+)\s*\/\s*minute\s*$/;

function shown(key) {
  const perMinute = RATE_PER_MINUTE.exec(key.rate_limit || "");
  return {id: key.id, name: key.name, prefix: key.key_prefix, permissions: key.permissions, models: key.allowed_models,
          budget: key.max_budget_usd, period: key.budget_duration, readOnly: key.read_only,
          rpm: perMinute ? Number(perMinute[1]) : key.rate_limit};
}

export const keys = {
  list: async () => (await call("GET", "/api/keys").then(json)).data.map(shown),
  // spec: {name, permissions, models?, budget?, period?, rpm?} → the new key, its plaintext in `key` (shown once)
  create: async (spec) => {
    const body = {name: spec.name, permissions: spec.permissions};
    if (spec.models) body.allowed_models = spec.models;
    if (spec.budget !== undefined) body.max_budget_usd = spec.budget;
    if (spec.period) body.budget_duration = spec.period;
    if (spec.rpm) body.rate_limit = `${spec.rpm}/minute`;
    const created = await call("POST", "/api/keys", body).then(json);
    return {...shown(created), key: created.key};
  },
  revoke: (id) => call("DELETE", `/api/keys/${encodeURIComponent(id)}`),
};
