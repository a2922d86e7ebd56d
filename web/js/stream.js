// An agent step's streamed text in the step inspector, shown as it arrives: the step's stream read after
// the offset reached (GET <run>/steps/<step>/stream, long-polled), each chunk once. The panel outlives the
// inspector's redraws (one per run and step), so the text already shown stays while more arrives.

import { get } from "./api.js";
import { h } from "./dom.js";

const WAIT_SECONDS = 20;
const panels = new Map();

async function follow(entry) {
  entry.following = true;
  try {
    while (entry.panel.isConnected || !entry.started) {
      entry.started = true;
      const q = new URLSearchParams({ after: String(entry.next), wait: String(WAIT_SECONDS) });
      if (entry.attempt) q.set("attempt", String(entry.attempt));
      const answer = await get(`${entry.url}?${q}`);
      if (answer.attempt === null) {
        if (!entry.running) return;
        continue;
      }
      if (answer.newAttempt || entry.attempt !== answer.attempt) {
        entry.text.textContent = "";
        entry.attempt = answer.attempt;
        entry.label.textContent = answer.attempt > 1 ? `Attempt ${answer.attempt}` : "";
      }
      entry.text.append(answer.chunks.map((c) => c.text).join(""));
      entry.next = answer.next;
      entry.panel.dataset.attempt = String(answer.attempt);
      entry.panel.dataset.done = String(answer.done);
      entry.panel.classList.toggle("streaming", !answer.done);
      if (answer.done && !entry.running) return;
      if (answer.done) await new Promise((resolve) => setTimeout(resolve, 1000)); // a newer attempt may begin
    }
  } catch {
    entry.panel.dataset.error = "true"; // the run was purged, or the app went away: keep what was shown
  } finally {
    entry.following = false;
  }
}

// The panel of `step` of the run at `runUrl`; `running`: the step is running, so more may come.
export function streamPanel(runUrl, step, running) {
  const url = `${runUrl}/steps/${encodeURIComponent(step)}/stream`;
  let entry = panels.get(url);
  if (!entry) {
    const label = h("span", { class: "muted small" });
    const text = h("pre", { class: "stream-text", tabindex: "0", "aria-live": "polite", "aria-label": `What ${step} writes` });
    const panel = h("div", { class: "agent-stream", "data-step": step }, h("h4", {}, "Written ", label), text);
    entry = { url, panel, text, label, next: 0, attempt: null, running, following: false, started: false };
    panels.set(url, entry);
  }
  entry.running = running;
  if (!entry.following) follow(entry);
  return entry.panel;
}
