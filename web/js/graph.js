// The workflow graph as SVG, from GET /api/workflows' `graph` (layers and orders computed by engine/viz.py).

import { h, s } from "./dom.js";

const W = 200; // node width
const H = 44; // node height
const GAP_X = 28;
const GAP_Y = 62;
const PAD = 24;

export const STATES = {
  pending: { icon: "○", label: "not reached" },
  running: { icon: "▶", label: "running" },
  done: { icon: "✓", label: "done" },
  failed: { icon: "✗", label: "failed" },
  waiting: { icon: "✎", label: "waiting for approval" },
};

const KIND_LABEL = { executor: "step", agent: "agent", approval: "approval" };

function layout(graph) {
  const layers = new Map();
  for (const node of graph.nodes) {
    if (!layers.has(node.layer)) layers.set(node.layer, []);
    layers.get(node.layer).push(node);
  }
  const widest = Math.max(1, ...[...layers.values()].map((l) => l.length));
  const width = widest * W + (widest - 1) * GAP_X + PAD * 2 + 60; // room on the right for loop edges
  const pos = new Map();
  for (const [layer, nodes] of layers) {
    nodes.sort((a, b) => a.order - b.order);
    const rowWidth = nodes.length * W + (nodes.length - 1) * GAP_X;
    const left = PAD + ((widest * W + (widest - 1) * GAP_X) - rowWidth) / 2;
    nodes.forEach((node, i) => {
      pos.set(node.id, { x: left + i * (W + GAP_X), y: PAD + layer * (H + GAP_Y), node });
    });
  }
  const height = PAD * 2 + graph.layers * H + (graph.layers - 1) * GAP_Y;
  return { pos, width, height };
}

function shape(node) {
  if (node.kind === "approval") {
    const c = 14;
    const pts = [[c, 0], [W - c, 0], [W, H / 2], [W - c, H], [c, H], [0, H / 2]];
    return s("polygon", { class: "shape", points: pts.map((p) => p.join(",")).join(" ") });
  }
  return s("rect", { class: "shape", width: W, height: H, rx: node.start ? H / 2 : 8 });
}

function edgePath(a, b, back) {
  if (back) {
    // A loop: leave on the right, go around, come back in on the right.
    const x1 = a.x + W;
    const y1 = a.y + H / 2;
    const x2 = b.x + W;
    const y2 = b.y + H / 2;
    const out = Math.max(x1, x2) + 48;
    return { d: `M${x1},${y1} C${out},${y1} ${out},${y2} ${x2 + 6},${y2}`, mid: [out - 12, (y1 + y2) / 2] };
  }
  const x1 = a.x + W / 2;
  const y1 = a.y + H;
  const x2 = b.x + W / 2;
  const y2 = b.y - 6;
  const bend = Math.max(24, (y2 - y1) / 2);
  const p = [[x1, y1], [x1, y1 + bend], [x2, y2 - bend], [x2, y2]];
  // The label sits in the gap just above the target, so edges spanning layers keep it clear of nodes.
  return { d: `M${x1},${y1} C${p[1]} ${p[2]} ${p[3]}`, mid: pointAtY(p, y2 + 6 - GAP_Y / 2) };
}

function bezier(p, t) {
  const u = 1 - t;
  const w = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t];
  return [0, 1].map((k) => w.reduce((sum, wi, i) => sum + wi * p[i][k], 0));
}

function pointAtY(p, y) {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (bezier(p, mid)[1] < y) lo = mid;
    else hi = mid;
  }
  return bezier(p, (lo + hi) / 2);
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** An <svg> of the graph; `states` (node id → state) colours the nodes and labels them. */
export function renderGraph(graph, { states = null, title = "Workflow graph" } = {}) {
  const { pos, width, height } = layout(graph);
  const svg = s("svg", {
    class: "graph",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "group",
    "aria-label": title,
  });
  const defs = s("defs", {});
  for (const kind of ["plain", "conditional", "switch", "fan-out", "fan-in", "escalation"]) {
    defs.append(
      s(
        "marker",
        { id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: `arrow arrow-${kind}` }),
      ),
    );
  }
  svg.append(defs);
  const edges = s("g", { class: "edges", "aria-hidden": "true" });
  const labels = s("g", { class: "edge-labels", "aria-hidden": "true" });
  const placed = []; // label boxes so far: the same text twice in one spot is drawn once, others move aside
  for (const edge of graph.edges) {
    const a = pos.get(edge.source);
    const b = pos.get(edge.target);
    if (!a || !b) continue;
    const { d, mid } = edgePath(a, b, edge.back || edge.source === edge.target);
    edges.append(
      s("path", { d, class: `edge edge-${edge.kind}`, "marker-end": `url(#arrow-${edge.kind})` }, s("title", {}, `${edge.source} → ${edge.target} (${edge.kind}${edge.label ? `: ${edge.label}` : ""})`)),
    );
    if (edge.label && !["fan-out", "fan-in"].includes(edge.kind)) {
      const text = truncate(edge.label, 22);
      const wText = text.length * 6.4 + 10;
      const hit = (m) => placed.find((b) => Math.abs(b.x - m[0]) < (b.w + wText) / 2 && Math.abs(b.y - m[1]) < 18);
      let clash = hit(mid);
      if (clash && clash.text === text) continue;
      for (let tries = 0; clash && tries < 3; tries++) {
        mid[0] += (mid[0] >= clash.x ? 1 : -1) * ((clash.w + wText) / 2 - Math.abs(clash.x - mid[0]) + 4);
        clash = hit(mid);
      }
      placed.push({ x: mid[0], y: mid[1], w: wText, text });
      labels.append(
        s(
          "g",
          { class: `edge-label edge-label-${edge.kind}`, transform: `translate(${mid[0] - wText / 2},${mid[1] - 9})` },
          s("rect", { width: wText, height: 18, rx: 4 }),
          s("text", { x: wText / 2, y: 13, "text-anchor": "middle" }, text),
        ),
      );
    }
  }
  svg.append(edges);
  const nodes = s("g", { class: "nodes" });
  for (const { x, y, node } of pos.values()) {
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
    g.append(shape(node));
    g.append(s("text", { class: "node-id", x: 30, y: 19 }, truncate(node.id, 24)));
    const sub = [KIND_LABEL[node.kind] || node.kind];
    if (node.start) sub.push("start");
    if (node.sink) sub.push("output");
    g.append(s("text", { class: "node-sub", x: 30, y: 34 }, sub.join(" · ")));
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

function nodeLabel(node, state) {
  const kind = KIND_LABEL[node.kind] || node.kind;
  return state ? `${node.id} (${kind}): ${STATES[state]?.label || state}` : `${node.id} (${kind})`;
}

/** Re-colour and re-label the nodes of an svg from renderGraph with new states. */
export function updateGraph(svg, graph, states) {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  for (const g of svg.querySelectorAll("g.node")) {
    const node = byId.get(g.dataset.node);
    const state = states[g.dataset.node] || "pending";
    if (g.dataset.state === state) continue;
    g.dataset.state = state;
    g.setAttribute("class", `node node-${node.kind} state-${state}`);
    g.setAttribute("aria-label", nodeLabel(node, state));
    g.querySelector("title").textContent = nodeLabel(node, state);
    g.querySelector(".node-icon").textContent = STATES[state]?.icon || "?";
  }
}

export function legend({ withStates = false } = {}) {
  const items = [
    ["edge-plain", "edge"],
    ["edge-conditional", "condition"],
    ["edge-switch", "switch case"],
    ["edge-fan-out", "fan-out / fan-in"],
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
export function stateList(graph, states) {
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
      );
    }),
  );
}
