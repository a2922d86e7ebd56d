// The workflow HTTP API, relative to the page: the page lives at <api>/dashboard/, the API at <api>/.

const meta = (name, fallback) => document.querySelector(`meta[name="${name}"]`)?.content || fallback;

export const API = new URL("../", location.href.split(/[?#]/)[0]).href; // .../api/
export const WORKFLOWS = `${API}${meta("workflows-route", "workflows")}`;

// On Azure the API wants a function key: open the page as .../dashboard/?code=<key> and it is sent along.
const key = new URLSearchParams(location.search).get("code");

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.error || body.message)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export async function call(method, url, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["x-functions-key"] = key;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, { error: `cannot reach the app (${err.message})` });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (url) => call("GET", url);
export const post = (url, body) => call("POST", url, body);

export const listWorkflows = () => get(WORKFLOWS).then((d) => d.workflows);
export const startRun = (name, input) => post(`${WORKFLOWS}/${encodeURIComponent(name)}`, input);
export const runUri = (name, id) =>
  `${WORKFLOWS}/${encodeURIComponent(name)}/runs/${encodeURIComponent(id)}`;
export const getRun = (name, id) => get(`${runUri(name, id)}?timeline=true`);
// The run's event feed: answers as soon as an event after `after` happens (or after `wait` seconds).
// Without a cursor, only the newest event: the page follows from now (the view shows the rest).
export function getEvents(name, id, after, wait) {
  const q = new URLSearchParams({ wait: String(wait) });
  if (after) q.set("after", after);
  else q.set("latest", "true");
  return get(`${runUri(name, id)}/events?${q}`);
}
export const terminateRun = (name, id, reason) => post(`${runUri(name, id)}/terminate`, { reason });

export function listRuns({ status = "", workflow = "", search = "", top = 20, skip = 0 } = {}) {
  const q = new URLSearchParams({ top: String(top), skip: String(skip) });
  if (status) q.set("status", status);
  if (workflow) q.set("workflow", workflow);
  if (search) q.set("search", search);
  return get(`${API}runs?${q}`);
}
