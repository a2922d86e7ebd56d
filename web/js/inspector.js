// The step inspector: one node of the run, its attempts, and the chosen attempt's input, output, error
// and timings (from the run view and its timeline); for an agent, its model and tool calls and who is
// asked before a tool; for an approval, its request and decisions.

import { clock, duration, h, pretty, time } from "./dom.js";
import { STATES, progressText } from "./graph.js";
import { streamPanel } from "./stream.js";
import { answerText, attemptClass, attemptKey, attemptResult, callText, itemText, plural } from "./timeline.js";

function json(label, value) {
  return h(
    "div",
    { class: "inspect-json" },
    h("h4", {}, label),
    h("pre", { class: "json", tabindex: "0", "aria-label": `${label} as JSON` }, pretty(value)),
  );
}

function fact(term, ...value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, ...value));
}

function attemptDetails(e, maxAttempts) {
  const parts = [
    h(
      "dl",
      { class: "facts inspect-facts" },
      fact("Superstep", String(e.superstep ?? "—")),
      fact("Attempt", String(e.attempt ?? "—")),
      itemText(e) ? fact("Map item", itemText(e)) : e.ordinal ? fact("Fan-out #", String(e.ordinal)) : null,
      fact("Result", attemptResult(e, maxAttempts)),
      fact("Scheduled", time(e.scheduled)),
      fact("Finished", time(e.completed)),
      fact("Ran", duration(e.duration_ms)),
      fact("Wall", duration(e.elapsed_ms)),
      fact("After run start", duration(e.offset_ms)),
      e.agent?.total_tokens !== undefined ? fact("Tokens", String(e.agent.total_tokens)) : null,
      e.idempotency_key ? fact("Idempotency key", h("code", {}, e.idempotency_key)) : null,
    ),
  ];
  if (e.error) {
    parts.push(h("div", { class: "error-box inspect-error", role: "note" }, h("strong", {}, e.error.type), ": ", e.error.message));
  }
  if (e.earlier) {
    parts.push(
      h("p", { class: "muted small" }, "From an earlier execution of this run (it continued as new): the host keeps only the current execution's history, so this attempt's input and output are not kept; its timing and outcome are."),
    );
  } else {
    parts.push(json("Input", e.input));
    if (e.ok) parts.push(json("Output", e.output));
  }
  return parts;
}

// An agent step's calls (its model calls and tool calls, each an activity of the step's orchestration):
// what each was asked and answered, how long it took, what it cost.
function agentCalls(entries, node, chosen) {
  const calls = entries.filter(
    (e) => e.kind === "call" && e.executor === node.id && (!chosen || (e.superstep === chosen.superstep && (e.ordinal ?? 0) === (chosen.ordinal ?? 0))),
  );
  if (!calls.length) return [];
  return [
    h("h4", {}, `Calls (${calls.length})`),
    h(
      "ol",
      { class: "agent-calls" },
      calls.map((c) =>
        h(
          "li",
          { "data-call": c.key, class: c.ok ? "" : "call-failed" },
          h("strong", {}, c.call === "model" ? `model ${c.model || c.name}` : c.call === "tool" ? `tool ${c.name}` : `tools of ${c.name}`),
          c.attempt > 1 ? ` (attempt ${c.attempt})` : "",
          ` · ${duration(c.duration_ms)}`,
          c.tokens?.total !== undefined && c.tokens?.total !== null ? ` · ${c.tokens.total} tokens` : "",
          c.ok ? null : h("div", { class: "error-box" }, `${c.error?.type}: ${c.error?.message}`),
          c.call === "tool" ? json("Arguments", c.arguments) : null,
          c.ok ? h("details", {}, h("summary", {}, c.call === "tool" ? "Result" : "Reply"), h("pre", { class: "json", tabindex: "0" }, callText(c))) : null,
        ),
      ),
    ),
  ];
}

// In a box of its own (it may hold an attempt per map item): the chosen attempt's details come first.
function attemptsTable(attempts, chosenKey, onSelect) {
  return h(
    "div",
    { class: "attempts-wrap", tabindex: "0", role: "region", "aria-label": "Attempts of this step" },
    h(
    "table",
    { class: "attempts" },
    h("caption", { class: "sr-only" }, "Attempts of this step"),
    h("thead", {}, h("tr", {}, ["Superstep", "Attempt", "Result", "Ran", "Finished"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      attempts.map((e) => {
        const key = attemptKey(e);
        return h(
          "tr",
          { class: `${key === chosenKey ? "row-selected" : ""}${attemptClass(e)}`, "data-key": key },
          h("td", { class: "num" }, String(e.superstep ?? ""), itemText(e) ? ` · ${itemText(e)}` : e.ordinal ? ` #${e.ordinal}` : ""),
          h("td", { class: "num" }, h("button", { type: "button", class: "linkish", "aria-pressed": String(key === chosenKey), onclick: () => onSelect({ executor: e.executor, key }) }, String(e.attempt ?? "?"))),
          h("td", {}, e.ok ? "✓" : e.will_retry ? "↻ retried" : "✗", e.earlier ? h("span", { class: "tag tag-earlier" }, "earlier") : null),
          h("td", { class: "num" }, duration(e.duration_ms)),
          h("td", {}, clock(e.completed)),
        );
      }),
    ),
    ),
  );
}

function approvalDetails(node, view) {
  // An agent asks before its tools (approval ids "<agent>.<tool>"); an approval node asks itself.
  const mine = (id) => id === node.id || (node.kind === "agent" && id.startsWith(`${node.id}.`));
  const pending = view.pendingApprovals.filter((a) => mine(a.approval_id));
  const mapped = (view.maps || []).find((m) => m.node === node.id);
  if (mapped && pending.length > 1) {
    // One request per item: a list of them, not every request in full.
    return [
      h("p", {}, `${view.pendingApprovalsTotal > pending.length ? "Many" : pending.length} items wait for a person; answer them under “Waiting for approval”.`),
      h("ul", { class: "small" }, pending.map((a) => h("li", {}, `item ${a.item?.index ?? "?"}: `, h("code", {}, JSON.stringify(a.request).slice(0, 80))))),
      ...(view.closedApprovals || []).filter((c) => c.approval_id === node.id).map((c) => decision(c)),
    ];
  }
  const decided = (view.closedApprovals || []).filter((c) => mine(c.approval_id));
  const parts = [];
  for (const a of pending) {
    parts.push(h("p", {}, "Waiting for an answer since ", time(a.requested_at), a.deadline ? [" (deadline ", time(a.deadline), ")"] : "", "."));
    parts.push(json("Request", a.request));
  }
  for (const c of decided) parts.push(decision(c));
  if (!parts.length && node.kind !== "agent") parts.push(h("p", { class: "muted" }, "Not asked yet."));
  return parts;
}

// Why a decision names no one: a deadline, a caller who was not signed in, or a raw event.
function nobody(c) {
  if (c.outcome === "timed_out") return "nobody (the deadline passed)";
  if (c.via === "endpoint") return "an anonymous caller (not signed in)";
  return "unknown (a raw event carries no identity)";
}

/** A decided approval: who, when, how, and the answer. */
export function decision(c) {
  const outcome = c.outcome === "timed_out" ? "Timed out" : "Answered";
  return h(
    "div",
    { class: "decision", "data-request": c.request_id },
    h(
      "dl",
      { class: "facts inspect-facts" },
      fact("Outcome", outcome, c.answer ? ` — ${answerText(c.answer)}` : ""),
      fact("By", c.decided_by ? h("strong", {}, c.decided_by) : h("span", { class: "muted" }, nobody(c))),
      fact("Via", c.via),
      fact("At", time(c.at)),
    ),
    c.answer !== null && c.answer !== undefined ? h("details", {}, h("summary", {}, "Answer as JSON"), h("pre", { class: "json", tabindex: "0" }, pretty(c.answer))) : null,
    c.answer_cut ? h("p", { class: "muted small" }, "The answer was too long to keep with the run.") : null,
  );
}

// A map's per-item node: how far its items got, batch by batch.
function mapSummary(m, view) {
  const finished = ["Completed", "Failed", "Terminated"].includes(view.runtimeStatus);
  const limit = m.max_parallel ? `, at most ${m.max_parallel} at once` : "";
  const rows = m.batches.map((b) =>
    h(
      "tr",
      { "data-batch": b.batch },
      h("td", { class: "mono" }, b.batch),
      h("td", {}, progressText(b, { finished }) || "—"),
      h("td", {}, b.collected ? "collected" : "gathering"),
    ),
  );
  return h(
    "div",
    { class: "map-summary" },
    h("h4", {}, "Items"),
    h("p", { class: "map-progress" }, progressText(m, { finished })),
    h("p", { class: "muted small" }, `Runs once per item of the list from `, h("code", {}, m.source), limit, `; `, h("code", {}, m.collect), ` collects them in item order${m.on_item_error === "collect" ? " (an item that fails for good is handed on as ItemFailed)" : ""}.`),
    m.batches.length > 1 || (m.batches.length && m.batches_begun > m.batches.length)
      ? h(
          "table",
          { class: "attempts batches" },
          h("caption", { class: "sr-only" }, "Batches of this map"),
          h("thead", {}, h("tr", {}, ["Batch", "Items", "State"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows),
        )
      : null,
    m.batches_begun > m.batches.length ? h("p", { class: "muted small" }, `${plural(m.batches_begun - m.batches.length, "earlier batch", "earlier batches")} collected (counted only).`) : null,
  );
}

/**
 * The inspector for `selection` ({executor, key?}) of a run: `graph` (the workflow's), `view` (the run
 * view, with its timeline). `onSelect` picks another attempt; `onClose` closes the panel.
 */
const KIND_LABEL = { approval: "approval", agent: "agent", workflow: "sub-workflow" };

/** A sub-workflow node's child runs (this execution's), each linked to its own run page and graph. */
function childRuns(node, view) {
  const children = (view.children || []).filter((c) => c.workflow === node.id);
  if (!children.length) return [h("p", { class: "muted small" }, "No run of this sub-workflow has started yet.")];
  return [
    h("h4", {}, `Child runs (${children.length})`),
    h(
      "ul",
      { class: "child-runs" },
      children.map((c) =>
        h(
          "li",
          {},
          h("a", { href: `#/run/${encodeURIComponent(c.workflow)}/${encodeURIComponent(c.instanceId)}`, class: "mono" }, c.instanceId),
          ` · ${c.runtimeStatus}`,
          c.pendingApprovals ? ` · ${c.pendingApprovals} waiting for a person` : "",
        ),
      ),
    ),
  ];
}

export function inspector(selection, graph, view, { onSelect, onClose, runUrl }) {
  const node = graph.nodes.find((n) => n.id === selection.executor);
  if (!node) return null;
  const state = view.executors[node.id] || "pending";
  const entries = view.timeline?.entries || [];
  const attempts = entries.filter((e) => e.kind === "step" && e.executor === node.id);
  const chosen = attempts.find((e) => attemptKey(e) === selection.key) || attempts[attempts.length - 1];
  const body = [];
  if (node.description) body.push(h("p", { class: "muted" }, node.description));
  if (node.kind === "agent" && runUrl) body.push(streamPanel(runUrl, node.id, state === "running"));
  const mapped = (view.maps || []).find((m) => m.node === node.id);
  const summary = mapped ? [mapSummary(mapped, view)] : [];
  if (node.kind === "workflow") body.push(...childRuns(node, view));
  if (node.kind === "approval") {
    body.push(...summary, ...approvalDetails(node, view));
  } else if (!attempts.length) {
    body.push(...summary, h("p", { class: "muted" }, state === "running" || state === "waiting" ? "Running: no attempt has finished yet." : "Not reached: no attempt yet."));
    if (node.kind === "agent") body.push(...agentCalls(entries, node, null), ...approvalDetails(node, view));
  } else {
    // The chosen attempt first, so selecting one (a map item among many) shows its details at once; the
    // map's progress and every attempt come after it.
    if (state === "running") body.push(h("p", { class: "small" }, mapped ? "▶ Items are running now." : "▶ Running again now."));
    const what = [`Attempt ${chosen.attempt ?? "?"}`, itemText(chosen)].filter(Boolean).join(" · ");
    body.push(h("div", { class: "attempt-details", "data-key": attemptKey(chosen) }, h("h3", {}, what), ...attemptDetails(chosen, node.max_attempts)));
    if (node.kind === "agent") body.push(...agentCalls(entries, node, chosen));
    body.push(...summary);
    if (attempts.length > 1) body.push(h("h4", {}, `Attempts (${attempts.length})`), attemptsTable(attempts, attemptKey(chosen), onSelect));
  }
  return h(
    "section",
    { class: "card inspector", "aria-labelledby": "inspector-heading", "data-executor": node.id },
    h(
      "div",
      { class: "inspector-head" },
      h("h2", { id: "inspector-heading", tabindex: "-1" }, h("span", { "aria-hidden": "true" }, `${STATES[state]?.icon || "?"} `), h("span", { class: "mono" }, node.id)),
      h("span", { class: "muted small" }, `${KIND_LABEL[node.kind] || "step"} · ${STATES[state]?.label || state}`),
      h("button", { type: "button", class: "close", "aria-label": "Close the step inspector", onclick: onClose }, "✕"),
    ),
    body,
  );
}
