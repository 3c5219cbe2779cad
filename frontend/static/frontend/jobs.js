// Inference jobs on a snapshot's researcher page: while a job is queued or running, poll its
// JSON endpoint every 2 s and update its row in place (status, progress, message, files).
// The server renders the same row on a full page load; this only keeps it current.
(() => {
  "use strict";

  const PERIOD_MS = 2000;
  const MAX_FAILURES = 5;

  function fileSize(bytes) {
    if (bytes < 1024) return `${bytes} bytes`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function field(row, name) {
    return row.querySelector(`[data-field="${name}"]`);
  }

  function render(row, job) {
    const status = field(row, "status");
    const label =
      job.status_label + (job.is_stale ? " (worker lost)" : job.is_stopping ? " (stopping)" : "");
    if (status.textContent !== label) status.textContent = label;
    status.className = `tag job-status status-${job.status}`;

    field(row, "progress-row").hidden = !job.is_progress_shown;
    const bar = field(row, "progress");
    if (job.planned) {
      bar.max = job.planned;
      bar.value = job.done;
    } else {
      bar.removeAttribute("value"); // indeterminate until the command has a plan
    }
    bar.textContent = `${job.done} / ${job.planned}`;
    field(row, "progress-text").textContent = job.progress_text;

    const exit = field(row, "exit");
    exit.hidden = !job.exit_meaning;
    exit.textContent = job.exit_meaning ? `Exit code ${job.exit_code}: ${job.exit_meaning}.` : "";

    const message = field(row, "message");
    message.hidden = !job.message;
    message.textContent = job.message;

    const files = field(row, "files");
    files.replaceChildren(
      ...job.files.map((file) => {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = file.url;
        link.download = "";
        link.textContent = file.name;
        const size = document.createElement("span");
        size.className = "muted small";
        size.textContent = fileSize(file.size);
        item.append(link, " ", size);
        return item;
      }),
    );

    field(row, "resume").hidden = !job.is_resumable;
    field(row, "stop").hidden = !job.is_active || job.is_stopping;
    row.dataset.active = job.is_active ? "true" : "false";
  }

  function watch(row) {
    const url = row.dataset.statusUrl;
    let failures = 0;
    const tick = async () => {
      try {
        const response = await fetch(url, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const job = await response.json();
        failures = 0;
        render(row, job);
        if (!job.is_active) return;
      } catch (error) {
        failures += 1;
        if (failures >= MAX_FAILURES) {
          field(row, "progress-text").textContent =
            "Lost touch with the server: refresh the page to see this job.";
          return;
        }
      }
      window.setTimeout(tick, PERIOD_MS);
    };
    window.setTimeout(tick, PERIOD_MS);
  }

  document.querySelectorAll(".job[data-active='true'][data-status-url]").forEach(watch);

  // The system-prompt option applies to evaluations only.
  const kind = document.querySelector("[data-job-kind]");
  const evaluateOnly = document.querySelector("[data-evaluate-only]");
  if (kind && evaluateOnly) {
    const sync = () => {
      const applies = kind.value === "evaluate";
      evaluateOnly.closest("label").hidden = !applies;
      if (!applies) evaluateOnly.checked = false;
    };
    kind.addEventListener("change", sync);
    sync();
  }
})();
