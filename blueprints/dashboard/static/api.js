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
export const keys = {
  list: async () => {
    const body = await call("GET", "/api/keys").then(json);
    return Array.isArray(body) ? body : (body.data || body.keys || []);
  },
  create: (spec) => call("POST", "/api/keys", spec).then(json),  // → {id, key (shown once), ...}
  revoke: (id) => call("DELETE", `/api/keys/${encodeURIComponent(id)}`),
};
