// The run's timeline (GET .../runs/{id}?timeline=true): every execution of the run, steps (an agent
// step's model and tool calls under it), approvals, timers and milestones. A step row opens the step
// inspector; an approval row reads as a decision.

import { clock, duration, h } from "./dom.js";

/** A step attempt's identity, the same for a timeline row and the inspector. */
export function attemptKey(e) {
  return [e.executor, e.superstep, e.ordinal ?? 0, e.attempt, e.earlier ? "earlier" : "here"].join("|");
}

/** A map item's step: "item 3" (and its batch when the item index is not the step's ordinal). */
export function itemText(e) {
  if (e.item === null || e.item === undefined) return "";
  return e.item === (e.ordinal ?? 0) ? `item ${e.item}` : `item ${e.item} of batch ${e.batch}`;
}

/** What an approval's answer says, in words: approved / rejected (with the comment) or the answer. */
export function answerText(answer) {
  if (answer === null || answer === undefined) return "";
  if (typeof answer !== "object") return JSON.stringify(answer);
  const parts = [];
  if (typeof answer.approved === "boolean") parts.push(answer.approved ? "approved" : "rejected");
  if (typeof answer.comment === "string" && answer.comment) parts.push(`“${answer.comment}”`);
  const rest = Object.fromEntries(Object.entries(answer).filter(([k]) => !["approved", "comment"].includes(k)));
  if (Object.keys(rest).length) parts.push(JSON.stringify(rest));
  return parts.join(" — ");
}

function approvalRow(e, onSelect) {
  const who = e.decided_by ? ` by ${e.decided_by}` : "";
  const how = e.via ? ` via ${e.via}` : "";
  const what =
    e.outcome === "timed_out" ? "deadline passed"
    : e.outcome === "answered" ? `decided${who}${how}`
    : "answer not taken (invalid, not allowed, or too late)";
  const answer = answerText(e.answer);
  return h(
    "tr",
    { class: `row-approval${e.outcome === "not_taken" ? " row-ignored" : ""}${e.earlier ? " row-earlier" : ""}`, "data-kind": "approval", "data-request": e.request_id },
    h("td", {}),
    h(
      "td",
      { colspan: 3 },
      h("span", { "aria-hidden": "true" }, "✎ "),
      "approval ",
      e.approval_id ? h("button", { type: "button", class: "linkish mono", onclick: () => onSelect({ executor: e.approval_id }) }, e.approval_id) : h("code", {}, e.request_id),
      `: ${what}`,
      answer ? h("div", { class: "small answer" }, answer) : null,
    ),
    h("td", {}),
    h("td", {}),
    h("td", {}),
    h("td", {}, clock(e.at)),
  );
}

/**
 * A step attempt's result in words, so a retried attempt never reads as the step's failure: "✓ done",
 * "↻ failed, will retry (attempt 1 of 3)" or "✗ failed for good (attempt 3 of 3)". `maxAttempts` is what
 * the step's retry policy allows (the graph's `max_attempts`).
 */
export function attemptResult(e, maxAttempts) {
  if (e.ok) return "✓ done";
  const counted = e.attempt ? ` (attempt ${e.attempt}${maxAttempts ? ` of ${maxAttempts}` : ""})` : "";
  if (e.will_retry) return `↻ failed, will retry${counted}`;
  if (e.will_retry === false && maxAttempts > 1) return `✗ failed for good${counted}`;
  return "✗ failed";
}

/** The class of a step attempt's row: a failure for good stands out, a retried attempt less so. */
export function attemptClass(e) {
  if (e.ok) return "";
  return e.will_retry ? " row-retried" : " row-failed";
}

function stepRow(e, onSelect, selectedKey, maxAttempts) {
  const state = attemptResult(e, maxAttempts[e.executor]);
  const key = attemptKey(e);
  const select = () => onSelect({ executor: e.executor, key });
  return h(
    "tr",
    {
      class: `row-step${attemptClass(e)}${e.earlier ? " row-earlier" : ""}${key === selectedKey ? " row-selected" : ""}`,
      "data-kind": "step",
      "data-executor": e.executor || "",
      "data-key": key,
      onclick: (ev) => {
        if (!ev.target.closest("button")) select();
      },
    },
    h("td", { class: "num" }, e.superstep ?? ""),
    h(
      "td",
      {},
      h("button", { type: "button", class: "linkish mono", "aria-label": `Inspect ${e.executor} (superstep ${e.superstep}${itemText(e) ? `, ${itemText(e)}` : ""}, attempt ${e.attempt})`, onclick: select }, e.executor || "?"),
      itemText(e) ? h("span", { class: "tag tag-item", "data-item": e.item }, itemText(e)) : null,
      e.agent ? h("span", { class: "tag" }, "agent") : null,
      e.earlier ? h("span", { class: "tag tag-earlier", title: "from an earlier execution (continue-as-new): input and output are not kept" }, "earlier") : null,
    ),
    h("td", {}, state, e.error ? h("div", { class: "small" }, `${e.error.type}: ${e.error.message}`) : null),
    h("td", { class: "num" }, e.attempt ?? ""),
    h("td", { class: "num" }, duration(e.duration_ms)),
    h("td", { class: "num" }, duration(e.elapsed_ms)),
    h("td", { class: "num" }, e.agent?.total_tokens !== undefined ? (e.agent.prompt_tokens !== undefined ? `${e.agent.total_tokens} (${e.agent.prompt_tokens}+${e.agent.completion_tokens})` : String(e.agent.total_tokens)) : ""),
    h("td", {}, clock(e.completed)),
  );
}

/** What an agent's call was asked and answered, in a line: a tool's arguments → its answer; a model's
 * tool calls or its answer. */
export function callText(e) {
  const text = (v) => (typeof v === "string" ? v : JSON.stringify(v));
  if (e.call === "tool") return `${text(e.arguments ?? {})} → ${text(e.result ?? "")}`;
  if (e.call === "model") return e.tool_calls?.length ? `calls ${e.tool_calls.map((c) => c.name).join(", ")}` : `answers ${text(e.result ?? "")}`;
  return text(e.result ?? "");
}

// One call of an agent step (a model call, a tool call): under its step, with what it was asked and answered.
function callRow(e, onSelect) {
  const label = e.call === "model" ? `model ${e.model || e.name}` : e.call === "tool" ? `tool ${e.name}` : `tools of ${e.name}`;
  const tokens = e.tokens?.total ?? "";
  return h(
    "tr",
    { class: `row-call${e.ok ? "" : " row-failed"}`, "data-kind": "call", "data-agent": e.executor, "data-call": e.key },
    h("td", { class: "num" }, e.superstep ?? ""),
    h(
      "td",
      {},
      h("span", { "aria-hidden": "true" }, "↳ "),
      h("button", { type: "button", class: "linkish mono", onclick: () => onSelect({ executor: e.executor }) }, e.executor),
      h("span", { class: "tag tag-call" }, label),
    ),
    h("td", {}, e.ok ? "✓" : "✗", h("div", { class: "small mono call-text" }, e.ok ? callText(e).slice(0, 200) : `${e.error?.type}: ${e.error?.message}`)),
    h("td", { class: "num" }, e.attempt ?? ""),
    h("td", { class: "num" }, duration(e.duration_ms)),
    h("td", { class: "num" }, duration(e.elapsed_ms)),
    h("td", { class: "num" }, String(tokens)),
    h("td", {}, clock(e.completed)),
  );
}

function otherRow(e) {
  const what =
    e.kind === "event" ? `event ${e.name}`
    : e.kind === "timer" ? "timer fired"
    : e.event === "continued" ? `continued as new after superstep ${e.after_superstep}`
    : `run ${e.event}`;
  return h(
    "tr",
    { class: `row-event${e.earlier ? " row-earlier" : ""}`, "data-kind": e.kind },
    h("td", {}),
    h("td", { colspan: 3 }, what, e.kind === "event" && e.data ? h("div", { class: "small mono" }, JSON.stringify(e.data).slice(0, 200)) : null),
    h("td", {}),
    h("td", { class: "num" }, e.elapsed_ms !== undefined && e.elapsed_ms !== null ? duration(e.elapsed_ms) : ""),
    h("td", {}),
    h("td", {}, clock(e.at)),
  );
}

/** What the step attempts came to: how many, how many failed and were retried, how many failed for good. */
function summary(totals) {
  const tokens = totals.tokens || {};
  const failed = totals.failed_for_good ?? totals.failed_attempts;
  const retried = totals.failed_attempts - failed;
  return [
    plural(totals.steps, "step attempt"),
    `${retried} failed and retried`,
    `${failed} failed`,
    `step time ${duration(totals.step_ms)}`,
    `tokens ${tokens.total_tokens ?? 0} in ${plural(tokens.calls ?? 0, "agent call")}`,
  ].join(" · ");
}

export function plural(n, word, words = `${word}s`) {
  return `${n} ${n === 1 ? word : words}`;
}

/**
 * The timeline table in `section`. It is not a scroll box of its own: every row is on the page, so the
 * last steps and the approvals are where the page's scroll takes them. `maxAttempts` (node → the attempts
 * its retry policy allows) says "attempt 1 of 3".
 */
export function drawTimeline(section, timeline, { onSelect, selectedKey, maxAttempts = {} }) {
  if (!timeline) return;
  const totals = timeline.totals;
  const rows = timeline.entries.map((e) =>
    e.kind === "step" ? stepRow(e, onSelect, selectedKey, maxAttempts)
    : e.kind === "call" ? callRow(e, onSelect)
    : e.kind === "approval" ? approvalRow(e, onSelect)
    : otherRow(e),
  );
  const executions = timeline.executions > 1
    ? `${timeline.executions} executions (continued as new every few supersteps); earlier executions show compact records without inputs and outputs${totals.earlier_steps_dropped ? `, and their ${totals.earlier_steps_dropped} oldest step attempts are only counted` : ""}.`
    : null;
  section.replaceChildren(
    h("h2", { id: "timeline-heading" }, "Timeline"),
    h("p", { class: "small timeline-summary" }, summary(totals)),
    ...(executions ? [h("p", { class: "small muted executions" }, executions)] : []),
    h("p", { class: "small muted" }, "Select a step to inspect its input, output, error, attempts and timings."),
    h(
      "div",
      { class: "table-wrap timeline-rows" },
      h(
        "table",
        { class: "timeline-table" },
        h("caption", { class: "sr-only" }, "Steps, approvals and events of the run, in order"),
        h(
          "thead",
          {},
          h("tr", {}, ["Superstep", "Step", "Result", "Attempt", "Ran", "Wall", "Tokens", "Finished"].map((t) => h("th", { scope: "col" }, t))),
        ),
        h("tbody", {}, rows),
      ),
    ),
  );
}
