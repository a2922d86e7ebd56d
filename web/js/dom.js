// Tiny DOM helpers: build elements without innerHTML (so nothing from the API is ever parsed as HTML).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    el.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function time(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const d = new Date(iso);
  return h("time", { datetime: iso, title: d.toISOString() }, d.toLocaleString());
}

/** The time of day only (the timeline's rows are one run's: the date is in its header), the full date on hover. */
export function clock(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const d = new Date(iso);
  return h("time", { datetime: iso, title: d.toLocaleString() }, d.toLocaleTimeString());
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const hrs = Math.floor(m / 60);
  return hrs < 48 ? `${hrs} h ${m % 60} min` : `${Math.floor(hrs / 24)} d ${hrs % 24} h`;
}

export function countdown(deadlineIso, now = Date.now()) {
  const left = new Date(deadlineIso).getTime() - now;
  if (left <= 0) return { text: "deadline passed", late: true };
  const sec = Math.floor(left / 1000);
  const d = Math.floor(sec / 86400);
  const hh = Math.floor((sec % 86400) / 3600);
  const mm = Math.floor((sec % 3600) / 60);
  const ss = sec % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return { text: `${d ? `${d} d ` : ""}${pad(hh)}:${pad(mm)}:${pad(ss)} left`, late: false };
}

// Runtime status → a label with an icon, so state never depends on colour alone.
export const STATUS_ICONS = {
  Pending: "○",
  Running: "▶",
  Completed: "✓",
  Failed: "✗",
  Terminated: "■",
  Suspended: "⏸",
  ContinuedAsNew: "↻",
};

export function statusBadge(status, phase) {
  const waiting = status === "Running" && phase === "waiting_for_approval";
  const label = waiting ? "Waiting for approval" : status || "Unknown";
  const icon = waiting ? "✎" : STATUS_ICONS[status] || "?";
  const key = waiting ? "waiting" : (status || "unknown").toLowerCase();
  return h("span", { class: `badge badge-${key}` }, h("span", { "aria-hidden": "true" }, icon), " ", label);
}
