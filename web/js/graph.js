// The workflow graph as SVG, from GET /api/workflows' `graph`, laid out by dagre (vendored in
// web/vendor/dagre, MIT): it routes every edge between the ranks around the nodes, so no edge is drawn
// over another node or hidden behind a chain, and places edge labels where they clash with nothing.

import dagre from "../vendor/dagre/dagre.esm.js";
import { h, s } from "./dom.js";

const H = 46; // node height
const MIN_W = 150;
const TEXT_X = 30; // where a node's text starts (the state icon sits left of it)
const PAD = 20;
const LABEL_H = 18;
const LOOP = 30; // how far a self-loop reaches right of its node
const PROGRESS_H = 22; // a map's per-item node in a run: one more line, its items' progress
// The width a progress line is given: counts of this size fit unsqueezed (longer ones are squeezed).
const PROGRESS_SAMPLE = "999/999 done · 99 running · 99 failed · 999 waiting";

export const STATES = {
  pending: { icon: "○", label: "not reached" },
  running: { icon: "▶", label: "running" },
  done: { icon: "✓", label: "done" },
  failed: { icon: "✗", label: "failed" },
  waiting: { icon: "✎", label: "waiting for approval" },
};

const KIND_LABEL = { executor: "step", agent: "agent", approval: "approval" };
export const EDGE_KINDS = ["plain", "conditional", "switch", "fan-out", "fan-in", "map", "collect", "escalation"];

/** The nodes a map runs once per item (targets of `map` edges) and the nodes that collect them. */
export function mapRoles(graph) {
  const items = new Set(graph.edges.filter((e) => e.kind === "map").map((e) => e.target));
  const collectors = new Set(graph.edges.filter((e) => e.kind === "collect").map((e) => e.target));
  return { items, collectors };
}

/** A map's progress in words: "7/12 done · 3 running · 1 failed · 1 waiting" (from the run view's `maps`). */
export function progressText(m, { finished = false } = {}) {
  if (!m) return "";
  if (!m.total) return m.batches_begun ? `${m.batches_begun} batch${m.batches_begun === 1 ? "" : "es"} collected` : "no items yet";
  const parts = [`${m.done}/${m.total} done`];
  if (m.running) parts.push(`${m.running} running`);
  if (m.failed) parts.push(`${m.failed} failed`);
  if (m.waiting && finished) parts.push(`${m.waiting} unfinished`);
  else if (m.waiting && m.approvals === m.waiting) parts.push(`${m.approvals} awaiting approval`);
  else if (m.waiting) parts.push(`${m.waiting} waiting`);
  return parts.join(" · ");
}

// Text is measured with the font it is drawn in, so a box is always as wide as its label.
const ruler = document.createElement("canvas").getContext("2d");
function textWidth(text, font) {
  ruler.font = font;
  return ruler.measureText(text).width;
}
const ID_FONT = "650 13px system-ui, sans-serif";
const SUB_FONT = "11px system-ui, sans-serif";
const LABEL_FONT = "11px system-ui, sans-serif";

function subtitle(node, roles) {
  const sub = [KIND_LABEL[node.kind] || node.kind];
  if (roles?.items.has(node.id)) sub.push("each item");
  if (roles?.collectors.has(node.id)) sub.push("collects");
  if (node.start) sub.push("start");
  if (node.sink) sub.push("output");
  return sub.join(" · ");
}

function nodeWidth(node, roles, progress) {
  const text = Math.max(textWidth(node.id, ID_FONT), textWidth(subtitle(node, roles), SUB_FONT));
  const approvalPoints = node.kind === "approval" ? 14 : 0; // the hexagon's points eat into its box
  const bar = progress ? textWidth(PROGRESS_SAMPLE, SUB_FONT) + 24 + 2 * approvalPoints : 0;
  return Math.max(MIN_W, Math.ceil(TEXT_X + text + 14 + approvalPoints), Math.ceil(bar));
}

function edgeLabel(edge) {
  // Fan-out and fan-in say what they are by their thick lines; every other kind by its label.
  return edge.label && !["fan-out", "fan-in"].includes(edge.kind) ? edge.label : "";
}

function layout(graph, { progress = false } = {}) {
  const roles = mapRoles(graph);
  const tall = (node) => progress && roles.items.has(node.id);
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 44, edgesep: 14, marginx: PAD, marginy: PAD });
  g.setDefaultEdgeLabel(() => ({}));
  // Declared order first: dagre keeps it where crossings allow, so the drawing follows the code.
  const ordered = [...graph.nodes].sort((a, b) => a.layer - b.layer || a.order - b.order);
  const labelOf = (edge) => {
    const text = edgeLabel(edge);
    return { text, width: text ? Math.ceil(textWidth(text, LABEL_FONT)) + 12 : 0, height: LABEL_H };
  };
  // dagre routes self-loops badly (their points wander off), so they are drawn here, on the node's right;
  // the node is laid out wide enough on both sides to keep its neighbours clear of the loop.
  const loops = graph.edges.filter((e) => e.source === e.target);
  for (const node of ordered) {
    const w = nodeWidth(node, roles, tall(node));
    const reach = Math.max(0, ...loops.filter((e) => e.source === node.id).map((e) => LOOP + labelOf(e).width + 8));
    g.setNode(node.id, { width: w + 2 * reach, height: tall(node) ? H + PROGRESS_H : H, node, w });
  }
  graph.edges.forEach((edge, i) => {
    if (edge.source === edge.target) return;
    const label = labelOf(edge);
    const sized = label.text ? { width: label.width, height: label.height, labelpos: "c" } : {};
    g.setEdge(edge.source, edge.target, { ...sized, edge, text: label.text }, `e${i}`);
  });
  dagre.layout(g);
  const pos = new Map();
  for (const id of g.nodes()) {
    const n = g.node(id);
    pos.set(id, { x: n.x - n.w / 2, y: n.y - n.height / 2, w: n.w, h: n.height, node: n.node });
  }
  const edges = g.edges().map((e) => g.edge(e));
  for (const edge of loops) {
    const at = pos.get(edge.source);
    if (!at) continue;
    const { text, width } = labelOf(edge);
    const right = at.x + at.w;
    const points = [
      { x: right, y: at.y + H * 0.3 },
      { x: right + LOOP, y: at.y + H * 0.3 - 6 },
      { x: right + LOOP, y: at.y + H * 0.7 + 6 },
      { x: right, y: at.y + H * 0.7 },
    ];
    edges.push({ edge, text, points, loop: true, x: right + LOOP + 4 + width / 2, y: at.y + H / 2, width });
  }
  // The drawing's own bounds (dagre's may leave a looping edge's bend outside them).
  const xs = [];
  const ys = [];
  for (const { x, y, w, h } of pos.values()) xs.push(x, x + w), ys.push(y, y + h);
  for (const e of edges) {
    for (const p of e.points || []) xs.push(p.x), ys.push(p.y);
    if (e.text) xs.push(e.x - e.width / 2, e.x + e.width / 2), ys.push(e.y - LABEL_H / 2, e.y + LABEL_H / 2);
  }
  const box = { x: Math.floor(Math.min(...xs)) - PAD, y: Math.floor(Math.min(...ys)) - PAD };
  box.width = Math.ceil(Math.max(...xs)) + PAD - box.x;
  box.height = Math.ceil(Math.max(...ys)) + PAD - box.y;
  return { pos, edges, box, roles };
}

function shape(node, w, h) {
  if (node.kind === "approval") {
    const c = 14;
    const pts = [[c, 0], [w - c, 0], [w, h / 2], [w - c, h], [c, h], [0, h / 2]];
    return s("polygon", { class: "shape", points: pts.map((p) => p.join(",")).join(" ") });
  }
  return s("rect", { class: "shape", width: w, height: h, rx: node.start ? H / 2 : 8 });
}

function loopPath([a, b, c, d]) {
  return `M${a.x},${a.y} C${b.x},${b.y} ${c.x},${c.y} ${d.x},${d.y}`;
}

// A smooth path through dagre's points: straight ends, quadratic bends through each inner point.
function edgePath(points) {
  const [first, ...rest] = points;
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i];
    const q = rest[i + 1];
    d += ` Q${p.x},${p.y} ${(p.x + q.x) / 2},${(p.y + q.y) / 2}`;
  }
  const last = rest[rest.length - 1] || first;
  return `${d} L${last.x},${last.y}`;
}

/**
 * An <svg> of the graph; `states` (node id → state) colours the nodes and labels them, and then each map's
 * per-item node has a line for its items' progress (filled by updateGraph).
 */
export function renderGraph(graph, { states = null, title = "Workflow graph" } = {}) {
  const { pos, edges: laid, box, roles } = layout(graph, { progress: states !== null });
  const svg = s("svg", {
    class: "graph",
    viewBox: `${box.x} ${box.y} ${box.width} ${box.height}`,
    width: box.width,
    height: box.height,
    role: "group",
    "aria-label": title,
  });
  const defs = s("defs", {});
  for (const kind of EDGE_KINDS) {
    defs.append(
      s(
        "marker",
        { id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerUnits: "userSpaceOnUse", markerWidth: 10, markerHeight: 10, orient: "auto-start-reverse" },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: `arrow arrow-${kind}` }),
      ),
    );
  }
  svg.append(defs);
  const edges = s("g", { class: "edges", "aria-hidden": "true" });
  const labels = s("g", { class: "edge-labels", "aria-hidden": "true" });
  for (const { edge, text, points, loop, x, y, width: wText } of laid) {
    if (!points?.length) continue;
    edges.append(
      s(
        "path",
        { d: loop ? loopPath(points) : edgePath(points), class: `edge edge-${edge.kind}`, "marker-end": `url(#arrow-${edge.kind})`, "data-edge": `${edge.source}>${edge.target}` },
        s("title", {}, `${edge.source} → ${edge.target} (${edge.kind}${edge.label ? `: ${edge.label}` : ""})`),
      ),
    );
    if (text) {
      labels.append(
        s(
          "g",
          { class: `edge-label edge-label-${edge.kind}`, transform: `translate(${x - wText / 2},${y - LABEL_H / 2})` },
          s("rect", { width: wText, height: LABEL_H, rx: 4 }),
          s("text", { x: wText / 2, y: 13, "text-anchor": "middle" }, text),
        ),
      );
    }
  }
  svg.append(edges);
  const nodes = s("g", { class: "nodes" });
  for (const { x, y, w, h, node } of pos.values()) {
    const state = states ? states[node.id] || "pending" : null;
    const g = s("g", {
      class: `node node-${node.kind}${state ? ` state-${state}` : ""}`,
      transform: `translate(${x},${y})`,
      "data-node": node.id,
      "data-state": state || "",
      role: "img",
      "aria-label": nodeLabel(node, state),
    });
    g.append(s("title", {}, nodeLabel(node, state) + (node.description ? `\n${node.description}` : "")));
    g.append(shape(node, w, h));
    g.append(s("text", { class: "node-id", x: TEXT_X, y: 20 }, node.id));
    g.append(s("text", { class: "node-sub", x: TEXT_X, y: 35 }, subtitle(node, roles)));
    if (h > H) {
      const inset = node.kind === "approval" ? 22 : 8;
      g.append(
        s(
          "g",
          { class: "node-progress", transform: `translate(${inset},${H - 4})`, "data-width": w - 2 * inset },
          s("rect", { width: w - 2 * inset, height: PROGRESS_H - 4, rx: 9 }),
          s("text", { x: (w - 2 * inset) / 2, y: 13, "text-anchor": "middle" }, ""),
        ),
      );
    }
    g.append(s("text", { class: "node-icon", x: 15, y: 28, "text-anchor": "middle" }, state ? STATES[state]?.icon || "?" : kindIcon(node)));
    nodes.append(g);
  }
  svg.append(nodes);
  svg.append(labels);
  return svg;
}

function kindIcon(node) {
  return node.kind === "approval" ? "⬡" : node.kind === "agent" ? "✦" : "■";
}

function nodeLabel(node, state, progress = "") {
  const kind = KIND_LABEL[node.kind] || node.kind;
  const label = state ? `${node.id} (${kind}): ${STATES[state]?.label || state}` : `${node.id} (${kind})`;
  return progress ? `${label}; items: ${progress}` : label;
}

/**
 * Re-colour and re-label the nodes of an svg from renderGraph with new states; `maps` (the run view's)
 * fills each map's progress line (`finished`: the run has ended, so items not run never will be).
 */
export function updateGraph(svg, graph, states, { maps = [], finished = false } = {}) {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const progressOf = new Map(maps.map((m) => [m.node, progressText(m, { finished })]));
  for (const g of svg.querySelectorAll("g.node")) {
    const node = byId.get(g.dataset.node);
    const state = states[g.dataset.node] || "pending";
    const progress = progressOf.get(node.id) || "";
    if (g.dataset.state === state && (g.dataset.progress || "") === progress) continue;
    g.dataset.state = state;
    g.dataset.progress = progress;
    g.setAttribute("class", `node node-${node.kind} state-${state}`);
    g.setAttribute("aria-label", nodeLabel(node, state, progress));
    g.querySelector("title").textContent = nodeLabel(node, state, progress) + (node.description ? `\n${node.description}` : "");
    g.querySelector(".node-icon").textContent = STATES[state]?.icon || "?";
    const bar = g.querySelector(".node-progress");
    if (bar) {
      const text = bar.querySelector("text");
      text.textContent = progress;
      const room = Number(bar.dataset.width) - 12;
      // Counts beyond the width the node was laid out for are squeezed rather than cut off.
      if (textWidth(progress, SUB_FONT) > room) text.setAttribute("textLength", room), text.setAttribute("lengthAdjust", "spacingAndGlyphs");
      else text.removeAttribute("textLength"), text.removeAttribute("lengthAdjust");
      bar.classList.toggle("has-failed", maps.some((m) => m.node === node.id && m.failed > 0));
    }
  }
}

export function legend({ withStates = false, graph = null } = {}) {
  const maps = !graph || graph.edges.some((e) => e.kind === "map");
  const items = [
    ["edge-plain", "edge"],
    ["edge-conditional", "condition"],
    ["edge-switch", "switch case"],
    ["edge-fan-out", "fan-out / fan-in"],
    ...(maps ? [["edge-map", "map: each item"], ["edge-collect", "map: collect"]] : []),
    ["edge-escalation", "timeout escalation"],
  ].map(([cls, text]) =>
    h("li", {}, h("span", { class: `swatch-line ${cls}`, "aria-hidden": "true" }), " ", text),
  );
  const kinds = [
    h("li", {}, h("span", { class: "glyph", "aria-hidden": "true" }, "■"), " step"),
    h("li", {}, h("span", { class: "glyph", "aria-hidden": "true" }, "✦"), " agent"),
    h("li", {}, h("span", { class: "glyph", "aria-hidden": "true" }, "⬡"), " approval"),
  ];
  const states = withStates
    ? Object.entries(STATES).map(([key, { icon, label }]) =>
        h("li", {}, h("span", { class: `swatch state-${key}`, "aria-hidden": "true" }, icon), " ", label),
      )
    : [];
  return h("ul", { class: "legend", "aria-label": "Legend" }, withStates ? states : kinds, items);
}

/** The node states as a text list (for screen readers and anyone who prefers text to pictures). */
export function stateList(graph, states, { maps = [], finished = false } = {}) {
  const progressOf = new Map(maps.map((m) => [m.node, progressText(m, { finished })]));
  const order = [...graph.nodes].sort((a, b) => a.layer - b.layer || a.order - b.order);
  return h(
    "ul",
    { class: "state-list" },
    order.map((n) => {
      const st = states[n.id] || "pending";
      return h(
        "li",
        { class: `state-${st}`, "data-node": n.id },
        h("span", { class: "swatch", "aria-hidden": "true" }, STATES[st].icon),
        " ",
        h("span", { class: "mono" }, n.id),
        ": ",
        STATES[st].label,
        progressOf.get(n.id) ? ` (items: ${progressOf.get(n.id)})` : "",
      );
    }),
  );
}
