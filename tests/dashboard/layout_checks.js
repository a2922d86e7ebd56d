// Run in the page by tests/dashboard/test_inspection.py: what is wrong with the drawn graph `svg`, if anything.
// Edges must not cross a node they do not join, must not run along another edge's path, and every text
// (node labels, edge labels) must fit its box.
(svg) => {
  const problems = [];
  const nodes = [...svg.querySelectorAll("g.node")].map((g) => {
    const box = g.querySelector(".shape").getBBox();
    const m = g.transform.baseVal.consolidate().matrix;
    return { id: g.dataset.node, g, x: m.e + box.x, y: m.f + box.y, w: box.width, h: box.height };
  });
  const inside = (p, n, margin) =>
    p.x > n.x + margin && p.x < n.x + n.w - margin && p.y > n.y + margin && p.y < n.y + n.h - margin;
  for (const n of nodes) {
    for (const text of n.g.querySelectorAll("text.node-id, text.node-sub")) {
      const b = text.getBBox();
      if (b.x + b.width > n.w - 4) problems.push(`label of ${n.id} overflows its box (${b.x + b.width} > ${n.w})`);
    }
  }
  const edges = [...svg.querySelectorAll("path.edge")].map((path) => {
    const [source, target] = path.dataset.edge.split(">");
    const length = path.getTotalLength();
    const points = [];
    for (let at = 0; at <= length; at += 4) points.push(path.getPointAtLength(at));
    return { source, target, points, name: path.dataset.edge };
  });
  for (const e of edges) {
    for (const n of nodes) {
      if (n.id === e.source || n.id === e.target) continue;
      if (e.points.some((p) => inside(p, n, 2))) problems.push(`edge ${e.name} runs over node ${n.id}`);
    }
  }
  // Two edges may share their ends (same source or target); along the way they must part.
  for (const a of edges) {
    const middle = a.points.slice(6, -6);
    if (middle.length < 6) continue;
    for (const b of edges) {
      if (a === b) continue;
      const near = middle.filter((p) => b.points.some((q) => Math.hypot(p.x - q.x, p.y - q.y) < 2)).length;
      if (near / middle.length > 0.35) problems.push(`edge ${a.name} is drawn over edge ${b.name}`);
    }
  }
  const labels = [...svg.querySelectorAll("g.edge-label")].map((g) => {
    const rect = g.querySelector("rect").getBBox();
    const text = g.querySelector("text").getBBox();
    const m = g.transform.baseVal.consolidate().matrix;
    if (text.width > rect.width) problems.push(`edge label ${g.textContent} overflows its box`);
    return { text: g.textContent, x: m.e, y: m.f, w: rect.width, h: rect.height };
  });
  for (const l of labels) {
    for (const n of nodes) {
      const overlap = l.x < n.x + n.w && l.x + l.w > n.x && l.y < n.y + n.h && l.y + l.h > n.y;
      if (overlap) problems.push(`edge label ${l.text} covers node ${n.id}`);
    }
  }
  return problems;
}
