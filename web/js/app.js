// The dashboard: hash-routed views over the workflow HTTP API.
//   #/workflows               every workflow, its graph
//   #/workflow/<name>         one workflow: graph + "start a run" form
//   #/runs?status=&workflow=&search=&skip=   recent runs
//   #/run/<workflow>/<id>[?step=<node>]   one run: live graph, step inspector, approvals, timeline, outputs

import * as api from "./api.js";
import { countdown, duration, h, pretty, statusBadge, time } from "./dom.js";
import { schemaForm } from "./forms.js";
import { legend, renderGraph, stateList, updateGraph } from "./graph.js";
import { decision, inspector } from "./inspector.js";
import { attemptKey, drawTimeline, plural } from "./timeline.js";

const main = document.getElementById("main");
const FEED_WAIT_S = 25; // each long-poll of the event feed: the page redraws when the run has news
const RETRY_MS = 2000; // after a failed read
const PAGE = 20;
const STATUSES = ["Running", "Pending", "Completed", "Failed", "Terminated", "Suspended", "ContinuedAsNew"];
let cleanup = [];
let workflowsCache = null;

async function workflows() {
  if (!workflowsCache) workflowsCache = await api.listWorkflows();
  return workflowsCache;
}

function onLeave(fn) {
  cleanup.push(fn);
}

function render(title, ...children) {
  document.title = `${title} · Workflows dashboard`;
  main.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined));
  main.focus({ preventScroll: true });
}

function failure(err) {
  return h("div", { class: "notice error-box", role: "alert" }, h("strong", {}, "Something went wrong: "), err.message);
}

// --- workflows -------------------------------------------------------------------------------------

async function viewWorkflows() {
  const list = await workflows();
  const usedIn = subworkflowParents(list);
  const card = (wf) => {
    const parents = usedIn.get(wf.name) || [];
    const link = `#/workflow/${encodeURIComponent(wf.name)}`;
    return h(
      "article",
      { class: `card workflow-card${parents.length ? " subworkflow-card" : ""}`, "data-workflow": wf.name },
      h("h2", {}, h("a", { href: link }, wf.name), parents.length ? h("span", { class: "tag tag-sub" }, "sub-workflow") : null),
      h("p", { class: "muted small" }, `version ${wf.version}`),
      parents.length ? h("p", { class: "small used-in" }, "Runs as a step of ", joinLinks(parents.map((name) => h("a", { href: `#/workflow/${encodeURIComponent(name)}` }, name))), ": its runs start there.") : null,
      h("p", {}, wf.description || h("span", { class: "muted" }, "No description.")),
      h(
        "p",
        { class: "muted small" },
        [plural(wf.graph.nodes.length, "node"), plural(wf.graph.edges.length, "edge"), plural(wf.approvals.length, "approval")].join(" · "),
      ),
      // A click on the thumbnail opens it full size too (the button is the keyboard's way there).
      thumbnail(wf),
      h(
        "p",
        { class: "actions" },
        parents.length
          ? h("a", { class: "button secondary", href: link }, "Details")
          : h("a", { class: "button", href: link }, "Start a run…"),
        h("button", { type: "button", class: "full-graph", onclick: () => showFullGraph(wf) }, "Full-size graph"),
      ),
    );
  };
  const top = list.filter((wf) => !usedIn.has(wf.name));
  const subs = list.filter((wf) => usedIn.has(wf.name));
  render(
    "Workflows",
    h("h1", {}, "Workflows"),
    h("div", { class: "cards" }, top.map(card)),
    ...(subs.length
      ? [
          h("h2", { class: "section-heading", id: "subworkflows-heading" }, "Sub-workflows"),
          h("p", { class: "muted small" }, "Workflows that run as a step of another workflow (each run is a child of that workflow's run)."),
          h("div", { class: "cards", "aria-labelledby": "subworkflows-heading" }, subs.map(card)),
        ]
      : []),
  );
  for (const box of document.querySelectorAll(".graph-thumb")) markCropped(box);
}

/** Each workflow used as a sub-workflow → the workflows using it (a sub-workflow node is named after it). */
function subworkflowParents(list) {
  const parents = new Map();
  for (const wf of list) {
    for (const node of wf.graph.nodes) {
      if (node.kind !== "workflow" || node.id === wf.name) continue;
      if (!parents.has(node.id)) parents.set(node.id, []);
      if (!parents.get(node.id).includes(wf.name)) parents.get(node.id).push(wf.name);
    }
  }
  return parents;
}

function joinLinks(links) {
  return links.flatMap((link, i) => (i ? [", ", link] : [link]));
}

// Thumbnails are drawn at 90 % of the full size, so their labels stay readable (a graph scaled to the
// card's width had 6-px labels): a large graph shows its top-left part, faded out, and opens full size.
const THUMB_SCALE = 0.9;

function thumbnail(wf) {
  const svg = renderGraph(wf.graph, { title: `Graph of ${wf.name}` });
  svg.style.width = `${Number(svg.getAttribute("width")) * THUMB_SCALE}px`;
  svg.style.height = `${Number(svg.getAttribute("height")) * THUMB_SCALE}px`;
  return h(
    "div",
    { class: "graph-thumb", title: "Open the full-size graph", onclick: () => showFullGraph(wf), "data-start": wf.start },
    h("div", { class: "thumb-view" }, svg),
    h("span", { class: "crop-note", "aria-hidden": "true" }, "Part of the graph: open it full size ⤢"),
  );
}

// A thumbnail wider than its card shows the part around the start step; one larger than it says so.
function markCropped(box) {
  const view = box.querySelector(".thumb-view");
  const drawn = view.querySelector("svg").getBoundingClientRect();
  const frame = view.getBoundingClientRect();
  box.classList.toggle("cropped", drawn.width > frame.width + 1 || drawn.height > frame.height + 1);
  const start = [...view.querySelectorAll("g.node")].find((g) => g.dataset.node === box.dataset.start);
  if (start && drawn.width > frame.width + 1) {
    const at = start.getBoundingClientRect();
    view.scrollLeft = Math.max(0, at.left + at.width / 2 - frame.left - frame.width / 2);
  }
}

// A card's thumbnail is scaled down to fit; the dialog shows the graph at its natural size.
function showFullGraph(wf) {
  const dialog = h(
    "dialog",
    { class: "graph-dialog", "aria-labelledby": "graph-dialog-title" },
    h(
      "div",
      { class: "dialog-head" },
      h("h2", { id: "graph-dialog-title" }, `Graph of ${wf.name}`),
      h("button", { type: "button", "aria-label": "Close", onclick: () => dialog.close() }, "✕ Close"),
    ),
    legend({ graph: wf.graph }),
    h("div", { class: "graph-box graph-full" }, renderGraph(wf.graph, { title: `Graph of ${wf.name}` })),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

async function viewWorkflow(name) {
  const list = await workflows();
  const wf = list.find((w) => w.name === name);
  if (!wf) return render("Not found", h("h1", {}, "Unknown workflow"), h("p", {}, `No workflow named ${name}.`));
  const parents = subworkflowParents(list).get(wf.name) || [];
  const examples = wf.input_schema.examples;
  const { form } = schemaForm(wf.input_schema, {
    submitLabel: "Start run",
    example: Array.isArray(examples) ? examples[0] : undefined,
    onSubmit: async (value, _submitter, { showErrors, status }) => {
      try {
        const started = await api.startRun(wf.name, value);
        status.textContent = `Started run ${started.id}.`;
        location.hash = `#/run/${encodeURIComponent(wf.name)}/${encodeURIComponent(started.id)}`;
      } catch (err) {
        showErrors(err.body?.errors || [], err.message);
      }
    },
  });
  form.setAttribute("aria-labelledby", "start-heading");
  render(
    wf.name,
    h("p", { class: "crumbs" }, h("a", { href: "#/workflows" }, "Workflows"), " / ", wf.name),
    h("h1", {}, wf.name, parents.length ? h("span", { class: "tag tag-sub" }, "sub-workflow") : null),
    h("p", { class: "lead" }, wf.description),
    parents.length
      ? h("p", { class: "notice-sub" }, "A sub-workflow: it runs as a step of ", joinLinks(parents.map((p) => h("a", { href: `#/workflow/${encodeURIComponent(p)}` }, p))), ", whose runs start its runs as their children. Starting one here runs it on its own.")
      : null,
    h(
      "div",
      { class: "split" },
      h(
        "section",
        { class: "card", "aria-labelledby": "start-heading" },
        h("h2", { id: "start-heading" }, "Start a run"),
        h("p", { class: "muted small" }, "Input of the start step ", h("code", {}, wf.start), ". Fields marked * are required."),
        form,
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "graph-heading" },
        h("h2", { id: "graph-heading" }, "Graph"),
        legend({ graph: wf.graph }),
        h("div", { class: "graph-box" }, renderGraph(wf.graph, { title: `Graph of ${wf.name}` })),
        approvalsInfo(wf),
      ),
    ),
    h("p", {}, h("a", { href: `#/runs?workflow=${encodeURIComponent(wf.name)}` }, `Recent runs of ${wf.name} →`)),
  );
}

function approvalsInfo(wf) {
  if (!wf.approvals.length) return null;
  return h(
    "div",
    {},
    h("h3", {}, "Approvals"),
    h("ul", {}, wf.approvals.map((a) => h("li", {}, h("code", {}, a.id), a.description ? ` — ${a.description}` : ""))),
  );
}

// --- runs ------------------------------------------------------------------------------------------

async function viewRuns(params) {
  const status = params.get("status") || "";
  const workflow = params.get("workflow") || "";
  const search = params.get("search") || "";
  const skip = Math.max(0, Number(params.get("skip")) || 0);
  const [list, page] = await Promise.all([workflows(), api.listRuns({ status, workflow, search, top: PAGE, skip })]);
  // Every filter lives in the URL, so a filtered list can be reloaded, bookmarked and shared.
  const go = (changes) => {
    const q = new URLSearchParams({ status, workflow, search, skip: String(skip), ...changes });
    for (const [k, v] of [...q]) if (!v || v === "0") q.delete(k);
    location.hash = `#/runs${q.toString() ? `?${q}` : ""}`;
  };
  const statusSelect = h(
    "select",
    { id: "filter-status", name: "status" },
    h("option", { value: "" }, "any status"),
    STATUSES.map((s) => h("option", { value: s.toLowerCase(), selected: s.toLowerCase() === status.toLowerCase() }, s)),
  );
  const workflowSelect = h(
    "select",
    { id: "filter-workflow", name: "workflow" },
    h("option", { value: "" }, "any workflow"),
    list.map((w) => h("option", { value: w.name, selected: w.name === workflow }, w.name)),
  );
  const searchInput = h("input", { id: "filter-search", name: "search", type: "search", value: search, placeholder: "part of an instance id", autocomplete: "off" });
  const apply = () => go({ status: statusSelect.value, workflow: workflowSelect.value, search: searchInput.value.trim(), skip: "0" });
  statusSelect.addEventListener("change", apply);
  workflowSelect.addEventListener("change", apply);
  const filters = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Filter runs",
      onsubmit: (e) => {
        e.preventDefault();
        apply();
      },
    },
    h("label", { for: "filter-search" }, "Instance id"),
    searchInput,
    h("label", { for: "filter-status" }, "Status"),
    statusSelect,
    h("label", { for: "filter-workflow" }, "Workflow"),
    workflowSelect,
    h("button", { type: "submit" }, "Search"),
    h("button", { type: "button", onclick: () => viewRuns(params).catch(showFailure) }, "Refresh"),
  );
  const rows = grouped(page.runs).map(({ run: r, depth }) =>
    h(
      "tr",
      { "data-instance": r.instanceId, class: depth ? "child-run" : null, "data-parent": r.parent?.instanceId },
      h(
        "td",
        { style: depth ? `padding-left: ${0.6 + 1.4 * depth}rem` : null },
        depth ? h("span", { "aria-hidden": "true", class: "child-mark" }, "↳ ") : null,
        h("a", { href: runHref(r.workflow, r.instanceId), class: "mono" }, r.instanceId),
        r.parent && !depth ? h("div", { class: "small muted parent-of" }, "sub-workflow run of ", parentLink(r.parent, list)) : null,
      ),
      h("td", {}, r.workflow, r.parent ? h("span", { class: "tag tag-sub" }, "sub-workflow") : null),
      h("td", {}, statusBadge(r.runtimeStatus, r.phase)),
      h("td", { class: "num" }, String(r.superstep ?? "")),
      h("td", {}, time(r.createdTime)),
      h("td", { class: "num duration" }, runDuration(r)),
    ),
  );
  const last = Math.min(skip + PAGE, page.total);
  render(
    "Runs",
    h("h1", {}, "Runs"),
    filters,
    h(
      "table",
      { class: "runs" },
      h("caption", { class: "sr-only" }, "Recent runs, newest first"),
      h("thead", {}, h("tr", {}, ["Run", "Workflow", "Status", "Superstep", "Created", "Duration"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No runs match."))),
    ),
    h(
      "nav",
      { class: "pager", "aria-label": "Pages of runs" },
      h("button", { type: "button", disabled: skip === 0, onclick: () => go({ skip: String(Math.max(0, skip - PAGE)) }) }, "← Newer"),
      h("span", { role: "status" }, page.total ? `${skip + 1}–${last} of ${page.total}` : "0 runs"),
      h("button", { type: "button", disabled: last >= page.total, onclick: () => go({ skip: String(skip + PAGE) }) }, "Older →"),
    ),
  );
}

// Child runs right under their parent when it is on the same page (deeper children further in); a child
// whose parent is on another page keeps its place and links to it.
function grouped(runs) {
  const here = new Set(runs.map((r) => r.instanceId));
  const children = new Map();
  for (const r of runs) {
    const parent = r.parent?.instanceId;
    if (parent && here.has(parent)) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(r);
    }
  }
  const out = [];
  const visit = (r, depth) => {
    out.push({ run: r, depth });
    for (const child of (children.get(r.instanceId) || []).reverse()) visit(child, depth + 1);
  };
  for (const r of runs) if (!(r.parent && here.has(r.parent.instanceId))) visit(r, 0);
  return out;
}

function runHref(workflow, instanceId, query = "") {
  return `#/run/${encodeURIComponent(workflow)}/${encodeURIComponent(instanceId)}${query}`;
}

/** A link to the run that started a sub-workflow run: its workflow is the one with that sub-workflow node. */
function parentLink(parent, list) {
  const owner = list.find((wf) => wf.graph.nodes.some((n) => n.kind === "workflow" && n.id === parent.node));
  if (!owner) return h("code", {}, parent.instanceId);
  return h("a", { class: "mono parent-link", href: runHref(owner.name, parent.instanceId, `?step=${encodeURIComponent(parent.node)}`) }, parent.instanceId);
}

// A finished run's duration from the API; an unfinished one's so far, marked as still growing.
function runDuration(r) {
  if (r.durationMs !== null && r.durationMs !== undefined) return duration(r.durationMs);
  if (!r.createdTime) return "—";
  return h("span", { title: "still running" }, `${duration(Date.now() - new Date(r.createdTime).getTime())} so far`);
}

// --- one run ---------------------------------------------------------------------------------------

// The run page: the graph and the timeline in the main column, the page's own scroll; beside them a side
// column that stays in view (sticky): pending approvals first, then the step inspector (which scrolls
// within), the result and the decided approvals. So an approval waiting for an answer is never pushed out
// of sight by what is being inspected.
async function viewRun(name, id, params = new URLSearchParams()) {
  const list = await workflows();
  const wf = list.find((w) => w.name === name);
  if (!wf) return render("Not found", h("h1", {}, "Unknown workflow"));
  const graphSvg = renderGraph(wf.graph, { states: {}, title: `Progress of run ${id}` });
  const maxAttempts = Object.fromEntries(wf.graph.nodes.filter((n) => n.max_attempts).map((n) => [n.id, n.max_attempts]));
  const header = h("div", { class: "run-head" });
  const states = h("div", { class: "states" });
  const inspectorBox = h("div", { class: "inspector-box" });
  const approvals = h("section", { class: "approvals", "aria-labelledby": "approvals-heading" });
  const decidedBox = h("div", { class: "decided-box" });
  const result = h("section", { class: "result" });
  const timeline = h("section", { class: "card timeline", "aria-labelledby": "timeline-heading" });
  const live = h("p", { class: "sr-only", role: "status", "aria-live": "polite" });
  const side = h("div", { class: "side" }, approvals, inspectorBox, result, decidedBox);
  render(
    `Run ${id}`,
    h("p", { class: "crumbs" }, h("a", { href: "#/runs" }, "Runs"), " / ", h("a", { href: `#/workflow/${encodeURIComponent(name)}` }, name), " / ", h("span", { class: "mono" }, id)),
    header,
    live,
    h(
      "div",
      { class: "split run-split" },
      h(
        "div",
        { class: "main-column" },
        h(
          "section",
          { class: "card progress", "aria-labelledby": "progress-heading" },
          h("h2", { id: "progress-heading" }, "Progress"),
          legend({ withStates: true, graph: wf.graph }),
          h("p", { class: "small muted" }, "Select a step to inspect it."),
          h("div", { class: "graph-box" }, graphSvg),
          h("details", { class: "state-details" }, h("summary", {}, "Step states as text"), states),
        ),
        timeline,
      ),
      side,
    ),
  );

  let shownApprovals = "";
  // The answers this page sent: a request's card says what was sent even once the run has taken it in
  // (the feed may show it closed before the answer's own response comes back).
  const answered = new Map();
  const onAnswered = () => {
    shownApprovals = "";
    refreshNow();
  };
  let shownTimeline = "";
  let shownInspector = "";
  let lastStatus = null;
  let lastView = null;
  let stopped = false;
  let timer = null;
  // The inspected step is kept in the URL (replaceState: no navigation, the page stays as it is).
  let selection = params.get("step") ? { executor: params.get("step"), key: params.get("attempt") || null } : null;
  const select = (next, { focus = true } = {}) => {
    selection = next;
    const q = new URLSearchParams();
    if (next) q.set("step", next.executor);
    if (next?.key) q.set("attempt", next.key);
    const base = `#/run/${encodeURIComponent(name)}/${encodeURIComponent(id)}`;
    history.replaceState(null, "", q.toString() ? `${base}?${q}` : base);
    if (lastView) drawPanels(lastView);
    if (!next) return;
    // A new selection starts at the top of the inspector: the chosen attempt's details are there.
    inspectorBox.scrollTop = 0;
    if (focus) document.getElementById("inspector-heading")?.focus({ preventScroll: true });
    inspectorBox.scrollIntoView({ block: "nearest" });
  };
  for (const g of graphSvg.querySelectorAll("g.node")) {
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.addEventListener("click", () => select({ executor: g.dataset.node }));
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        select({ executor: g.dataset.node });
      }
    });
  }
  const tick = setInterval(() => {
    for (const el of document.querySelectorAll("[data-deadline]")) {
      const c = countdown(el.dataset.deadline);
      el.textContent = c.text;
      el.classList.toggle("late", c.late);
    }
  }, 1000);
  onLeave(() => {
    stopped = true;
    clearInterval(tick);
    clearTimeout(timer);
  });

  // Redrawn only when what they show changed, so a poll never resets a scrolled table or a focused button.
  function drawPanels(view) {
    for (const g of graphSvg.querySelectorAll("g.node")) g.classList.toggle("selected", g.dataset.node === selection?.executor);
    // While a step is inspected, a pending approval's card is compact (its request scrolls within), so the
    // two fit in the window together.
    side.classList.toggle("inspecting", Boolean(selection));
    const inspectorKey = JSON.stringify([selection, view.executors, view.maps, view.timeline?.entries?.length, view.pendingApprovals, view.closedApprovalsTotal, view.runtimeStatus]);
    if (inspectorKey !== shownInspector) {
      shownInspector = inspectorKey;
      const scrolled = inspectorBox.scrollTop; // a poll's redraw keeps where the reader was
      const panel = selection ? inspector(selection, wf.graph, view, { onSelect: select, onClose: () => select(null), runUrl: api.runUri(name, id) }) : null;
      inspectorBox.replaceChildren(...(panel ? [panel] : []));
      inspectorBox.scrollTop = scrolled;
    }
    const timelineKey = JSON.stringify([view.timeline, selection?.key]);
    if (timelineKey !== shownTimeline) {
      shownTimeline = timelineKey;
      const chosen = selection && (selection.key || latestKey(view.timeline, selection.executor));
      drawTimeline(timeline, view.timeline, { onSelect: select, selectedKey: chosen, maxAttempts });
    }
  }

  async function refresh() {
    let view;
    try {
      view = await api.getRun(name, id);
      document.getElementById("conn").textContent = "";
    } catch (err) {
      if (err.status === 404) {
        header.replaceChildren(h("h1", {}, "Run not found"), h("p", {}, err.message));
        return false;
      }
      document.getElementById("conn").textContent = `⚠ ${err.message}`;
      return true;
    }
    if (stopped) return false;
    lastView = view;
    const progress = { maps: view.maps || [], finished: ["Completed", "Failed", "Terminated"].includes(view.runtimeStatus) };
    updateGraph(graphSvg, wf.graph, view.executors, progress);
    states.replaceChildren(stateList(wf.graph, view.executors, progress));
    drawHeader(header, view, name, id, refreshNow, list);
    const key = JSON.stringify([view.pendingApprovals.map((a) => a.request_id), view.closedApprovalsTotal]);
    if (key !== shownApprovals) {
      shownApprovals = key;
      drawApprovals(approvals, decidedBox, view, { answered, onAnswered });
      // A workflow that asks no one (and no sub-workflow of it asked) needs no approvals panel.
      approvals.hidden = !view.pendingApprovals.length && !view.closedApprovalsTotal && !wf.approvals.length;
    }
    drawResult(result, view);
    drawPanels(view);
    if (view.runtimeStatus !== lastStatus) {
      live.textContent = `Run is ${view.runtimeStatus}${view.phase === "waiting_for_approval" ? ", waiting for approval" : ""}.`;
      lastStatus = view.runtimeStatus;
    }
    return !["Completed", "Failed", "Terminated"].includes(view.runtimeStatus);
  }

  // The page follows the run's event feed (no fixed polling): each long-poll returns when something
  // happened, and only then is the view read again.
  let cursor = null;
  async function follow() {
    let again = await refresh();
    while (again && !stopped) {
      try {
        const feed = await api.getEvents(name, id, cursor, cursor ? FEED_WAIT_S : 0);
        cursor = feed.cursor || cursor;
        document.getElementById("conn").textContent = "";
      } catch (err) {
        document.getElementById("conn").textContent = `⚠ ${err.message}`;
        await new Promise((resolve) => {
          timer = setTimeout(resolve, RETRY_MS);
        });
      }
      if (stopped) return;
      again = await refresh();
    }
  }

  function refreshNow() {
    if (!stopped) refresh();
  }

  await follow();
}

function latestKey(timeline, executor) {
  const steps = (timeline?.entries || []).filter((e) => e.kind === "step" && e.executor === executor);
  return steps.length ? attemptKey(steps[steps.length - 1]) : null;
}

function drawHeader(header, view, name, id, refreshNow, list) {
  const finished = ["Completed", "Failed", "Terminated"].includes(view.runtimeStatus);
  const terminate = finished
    ? null
    : h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: async (e) => {
            if (!confirm(`Terminate run ${id}? It stops at once and cannot be resumed.`)) return;
            e.target.disabled = true;
            try {
              await api.terminateRun(name, id, "terminated from the dashboard");
            } catch (err) {
              alert(`Could not terminate: ${err.message}`);
            }
            refreshNow();
          },
        },
        "Terminate run",
      );
  header.replaceChildren(
    h(
      "div",
      { class: "run-title" },
      h("h1", {}, `Run of ${name}`),
      h("span", { class: "run-status", "data-status": view.runtimeStatus }, statusBadge(view.runtimeStatus, view.phase)),
      terminate,
    ),
    h(
      "dl",
      { class: "facts" },
      h("div", {}, h("dt", {}, "Instance"), h("dd", { class: "mono" }, id)),
      h("div", {}, h("dt", {}, "Superstep"), h("dd", {}, String(view.superstep))),
      h("div", {}, h("dt", {}, "Version"), h("dd", { class: "mono" }, view.version ?? "(not recorded)")),
      h("div", {}, h("dt", {}, "Created"), h("dd", {}, time(view.createdTime))),
      h("div", {}, h("dt", {}, "Updated"), h("dd", {}, time(view.lastUpdatedTime))),
      h("div", {}, h("dt", {}, "Duration"), h("dd", { class: "run-duration" }, viewDuration(view))),
    ),
    ...(view.parent
      ? [h(
          "p",
          { class: "parent-run" },
          h("span", { "aria-hidden": "true" }, "↰ "),
          "A sub-workflow run, started by run ",
          parentLink(view.parent, list),
          ` (its step ${view.parent.node}${view.parent.item ? `, item ${view.parent.item}` : ""}).`,
        )]
      : []),
  );
}

// The history times the run's end to the millisecond; the status times (runs list) may be whole seconds.
function viewDuration(view) {
  const end = (view.timeline?.entries || []).findLast((e) => e.kind === "run" && typeof e.elapsed_ms === "number");
  return end ? duration(end.elapsed_ms) : runDuration(view);
}

function drawApprovals(section, decidedBox, view, { answered, onAnswered }) {
  const pending = view.pendingApprovals;
  const total = view.pendingApprovalsTotal ?? pending.length;
  const more = total > pending.length
    ? h("p", { class: "muted" }, `Showing ${pending.length} of ${total} pending approvals; the API pages them (approvals_skip, approvals_top).`)
    : null;
  const closed = [...(view.closedApprovals || [])].reverse();
  const closedTotal = view.closedApprovalsTotal ?? closed.length;
  const decided = closed.length
    ? h(
        "div",
        { class: "card decided", "aria-labelledby": "decided-heading" },
        h("h3", { id: "decided-heading" }, `Decided (${closedTotal})`),
        closedTotal > closed.length ? h("p", { class: "muted small" }, `The latest ${closed.length} of ${closedTotal}, newest first.`) : null,
        h("ul", { class: "decided-list" }, closed.map((c) => h("li", {}, h("h4", {}, h("span", { "aria-hidden": "true" }, "⬡ "), c.approval_id), decision(c)))),
      )
    : null;
  section.classList.toggle("has-pending", pending.length > 0);
  section.replaceChildren(
    h("h2", { id: "approvals-heading" }, total ? `Waiting for approval (${total})` : "Approvals"),
    ...(pending.length ? pending.map((a) => approvalCard(a, answered, onAnswered)) : [h("p", { class: "muted" }, closed.length ? "No approval is pending." : "No approval asked yet.")]),
    ...[...answered].filter(([id]) => !pending.some((a) => a.request_id === id)).map(([id, sent]) => answeredCard(id, sent)),
    ...(more ? [more] : []),
  );
  decidedBox.replaceChildren(...(decided ? [decided] : []));
}

function answeredCard(requestId, sent) {
  return h(
    "article",
    { class: "card answered", "data-request": requestId },
    h("h3", {}, h("span", { "aria-hidden": "true" }, "✓ "), sent.approval),
    h("p", { class: "form-status ok", role: "status" }, sent.text),
  );
}

function approvalCard(a, answered, onAnswered) {
  const schema = a.response_schema || {};
  const decide = schema.properties?.approved?.type === "boolean";
  const headingId = `approval-${a.request_id}`;
  const { form } = schemaForm(schema, {
    skip: decide ? new Set(["approved"]) : null,
    buttons: decide
      ? [
          h("button", { type: "submit", class: "primary approve", value: "approve" }, "✓ Approve"),
          h("button", { type: "submit", class: "danger reject", value: "reject" }, "✗ Reject"),
        ]
      : null,
    submitLabel: "Send answer",
    onSubmit: async (value, submitter, { showErrors, status }) => {
      const body = decide ? { approved: submitter?.value !== "reject", ...value } : value;
      try {
        await api.post(a.respond_uri, body);
        status.textContent = decide ? `Answer sent: ${body.approved ? "approved" : "rejected"}.` : "Answer sent.";
        status.classList.add("ok");
        answered.set(a.request_id, { approval: a.approval_id, text: status.textContent });
        setTimeout(onAnswered, 150);
      } catch (err) {
        showErrors(err.body?.errors || [], `${err.message}${err.status ? ` (HTTP ${err.status})` : ""}`);
      }
    },
  });
  form.setAttribute("aria-labelledby", headingId);
  const deadline = a.deadline
    ? h(
        "p",
        { class: "deadline" },
        "Deadline ",
        time(a.deadline),
        " — ",
        h("strong", { "data-deadline": a.deadline }, countdown(a.deadline).text),
      )
    : h("p", { class: "deadline muted" }, "No deadline.");
  return h(
    "article",
    { class: "card approval", "data-request": a.request_id },
    h("h3", { id: headingId }, h("span", { "aria-hidden": "true" }, "✎ "), a.approval_id, a.item ? h("span", { class: "tag tag-item" }, `item ${a.item.index}`) : null),
    a.description ? h("p", {}, a.description) : null,
    a.escalated_from ? h("p", { class: "muted small" }, `Escalated from ${a.escalated_from}.`) : null,
    deadline,
    h(
      "details",
      { open: true, class: "request" },
      h("summary", {}, "Request"),
      h("pre", { class: "json", tabindex: "0" }, pretty(a.request)),
    ),
    a.can_answer === false
      ? h(
          "p",
          { class: "muted" },
          `Only ${(a.approvers || []).join(", ")} may answer this approval: sign in as one of them, or use a respond link issued to you.`,
        )
      : form,
  );
}

function drawResult(section, view) {
  const parts = [];
  if (view.input !== null && view.input !== undefined) {
    parts.push(
      h(
        "details",
        { class: "card run-input" },
        h("summary", {}, "Input"),
        h("pre", { class: "json", tabindex: "0", "aria-label": "Input as JSON" }, pretty(view.input)),
      ),
    );
  }
  if (view.error) {
    parts.push(
      h(
        "div",
        { class: "card error-box", role: "alert" },
        h("h2", {}, view.runtimeStatus === "Terminated" ? "Terminated" : "Error"),
        h("p", {}, view.error.executor_id ? [h("code", {}, view.error.executor_id), ": "] : null, h("strong", {}, view.error.type), " — ", view.error.message),
      ),
    );
  }
  if (view.outputs !== null && view.outputs !== undefined) {
    parts.push(
      h(
        "div",
        { class: "card outputs" },
        h("h2", {}, "Outputs"),
        h("pre", { class: "json", tabindex: "0", "aria-label": "Outputs as JSON" }, pretty(view.outputs)),
      ),
    );
  }
  section.replaceChildren(...parts);
}

// --- routing ---------------------------------------------------------------------------------------

function showFailure(err) {
  render("Error", h("h1", {}, "Error"), failure(err));
}

async function route() {
  for (const fn of cleanup.splice(0)) fn();
  const [path, query = ""] = (location.hash.replace(/^#/, "") || "/workflows").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const section = parts[0] === "run" || parts[0] === "runs" ? "runs" : "workflows";
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  try {
    if (parts[0] === "workflow" && parts[1]) await viewWorkflow(parts[1]);
    else if (parts[0] === "runs") await viewRuns(new URLSearchParams(query));
    else if (parts[0] === "run" && parts[2]) await viewRun(parts[1], parts[2], new URLSearchParams(query));
    else await viewWorkflows();
  } catch (err) {
    showFailure(err);
  }
}

window.addEventListener("hashchange", route);
route();
