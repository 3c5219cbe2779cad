// The staff dashboard, kept current: the page is rendered with the figures, and the study's
// dashboard socket sends them again after every change ({"type": "figures", "figures": …}).
// A dropped socket reconnects with backoff; the status line (aria-live) says which state the
// page is in. Every figure is set with textContent. Without JavaScript the page is unchanged.
(() => {
  "use strict";

  const root = document.getElementById("dashboard");
  if (!root || !root.dataset.socketPath) return;
  const status = document.getElementById("dashboard-status");
  const updated = root.querySelector("[data-updated]");

  const REFUSED = 4403;
  const FIRST_DELAY_MS = 1000;
  const MAX_DELAY_MS = 30000;
  let delay = FIRST_DELAY_MS;
  let socket = null;

  function setStatus(state, text) {
    if (status.dataset.state === state && status.textContent === text) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  function setText(selector, text) {
    for (const node of root.querySelectorAll(selector)) {
      if (node.textContent !== text) node.textContent = text;
    }
  }

  function render(figures) {
    for (const step of figures.funnel) {
      setText(`[data-funnel="${step.stage}"]`, String(step.count));
      setText(`[data-funnel-percent="${step.stage}"]`, `${step.percent}%`);
      const bar = root.querySelector(`[data-funnel-bar="${step.stage}"]`);
      if (bar) {
        bar.value = step.percent;
        bar.textContent = `${step.percent}%`;
      }
    }
    for (const node of root.querySelectorAll("[data-figure]")) {
      const value = figures[node.dataset.figure];
      const text = value === null || value === undefined ? "—" : String(value);
      if (node.textContent !== text) node.textContent = text;
    }
    if (updated) updated.textContent = new Date(figures.updated_at).toLocaleTimeString();
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}${root.dataset.socketPath}`);
    socket.addEventListener("open", () => {
      delay = FIRST_DELAY_MS;
      setStatus("live", "Live");
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "figures") render(frame.figures);
    });
    socket.addEventListener("close", (event) => {
      socket = null;
      if (event.code === REFUSED) {
        setStatus("stopped", "Not live: you may not watch this study. Reload after logging in.");
        return;
      }
      setStatus("reconnecting", "Reconnecting…");
      // Jitter, so a restarted server is not met by every dashboard at once.
      window.setTimeout(connect, delay * (0.75 + Math.random() / 2));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    });
  }

  setStatus("connecting", "Connecting…");
  connect();
})();
