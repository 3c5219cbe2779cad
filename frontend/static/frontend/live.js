// The researcher page's winners, kept current: every few seconds ask the study's live.json
// which snapshot is newest and, when it changes, redraw the winners (text only) and say so in
// a status line. The server renders the same cards on a full page load; without JavaScript
// the page is unchanged.
(() => {
  "use strict";

  const PERIOD_MS = 3000;
  const MAX_FAILURES = 5;

  const section = document.getElementById("live-winners");
  if (!section || !section.dataset.liveUrl) return;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function card(w) {
    const item = element("li", "winner-card");
    item.append(element("p", "context-label", w.context));
    const tied = w.tied || [];
    if (tied.length > 1) {
      const title = element("p", "winner-title");
      title.append(element("span", "tag tie", "tie"), ` ${tied.length} values share the top score`);
      const list = element("ul", "tied-values small");
      for (const t of tied) {
        const entry = element("li", "", t.title);
        if (t.win_percent) {
          entry.append(" ", element("span", "muted", `(wins in ${t.win_percent} of resamples)`));
        }
        list.append(entry);
      }
      item.append(title, list);
    } else {
      item.append(element("p", "winner-title", w.title));
    }
    const facts = element("p", "winner-facts");
    facts.append(element("span", `support ${w.support_class}`, w.support));
    if (w.win_percent && tied.length <= 1) {
      facts.append(" ", element("span", "", `wins in ${w.win_percent} of resamples`));
    }
    facts.append(" ", element("span", "muted", `score ${w.score}`));
    item.append(facts);
    if (w.tie_percent) {
      item.append(
        element(
          "p",
          "small muted tie-share",
          `Tied for the top in ${w.tie_percent} of resamples (a tie counts 1/k to each of its k values)`,
        ),
      );
    }
    if (w.grid_cells) {
      item.append(
        element(
          "p",
          "small muted grid-agreement",
          `Still wins in ${w.grid_wins} of ${w.grid_cells} threshold settings`,
        ),
      );
    }
    const runnerUp = element("p", "runner-up small");
    if (w.runner_up_title) {
      runnerUp.append(
        `Runner-up: ${w.runner_up_title} `,
        element("span", "muted", `(${w.runner_up_score})`),
      );
    } else {
      runnerUp.append(element("span", "muted", "No runner-up"));
    }
    item.append(runnerUp);
    return item;
  }

  function render(live) {
    const body = section.querySelector("[data-live-body]");
    if (live.winners.length) {
      const list = element("ul", "winners");
      list.append(...live.winners.map(card));
      body.replaceChildren(list);
    } else {
      body.replaceChildren(
        element("p", "panel", "No context has a winner yet: no edge meets the thresholds."),
      );
    }
    const note = element(
      "p",
      "notice",
      `Updated just now: snapshot ${live.snapshot_id}, ${live.vote_count} votes, ` +
        `${live.created_label}. Refresh the page for its graph and edges.`,
    );
    section.querySelector("[data-live-status]").replaceChildren(note);
    section.dataset.snapshotId = String(live.snapshot_id);
    section.hidden = false;
    const empty = document.querySelector("[data-live-empty]");
    if (empty) empty.hidden = true;
  }

  let failures = 0;
  const tick = async () => {
    try {
      const response = await fetch(section.dataset.liveUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const live = await response.json();
      failures = 0;
      if (live.snapshot_id !== null && String(live.snapshot_id) !== section.dataset.snapshotId) {
        render(live);
      }
    } catch (error) {
      failures += 1;
      if (failures >= MAX_FAILURES) {
        section
          .querySelector("[data-live-status]")
          .replaceChildren(
            element("p", "muted small", "Lost touch with the server: refresh to see new winners."),
          );
        return;
      }
    }
    window.setTimeout(tick, PERIOD_MS);
  };
  window.setTimeout(tick, PERIOD_MS);
})();
