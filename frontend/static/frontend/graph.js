// The researcher page's graph explorer: progressive enhancement of the server-drawn SVG
// (moralgraph/web/svg.py). Zoom (buttons, Ctrl + wheel, pinch) and drag to pan by changing the
// viewBox; filter the arrows by context; click a value (or focus it and press Enter) to load its
// card, the raw cards merged into it, its edges and their stories from the JSON endpoint.
// Without JavaScript the page shows the same SVG, unchanged. Text from people is only ever
// placed with textContent.
(() => {
  "use strict";

  const ZOOM_STEP = 1.25;
  const MAX_ZOOM = 8;
  const DRAG_THRESHOLD_PX = 4;

  const root = document.querySelector("[data-graph-explorer]");
  const svg = document.querySelector(".graph-canvas svg.moral-graph");
  if (!root || !svg || !svg.viewBox || !svg.viewBox.baseVal) return;

  const base = {
    x: svg.viewBox.baseVal.x,
    y: svg.viewBox.baseVal.y,
    w: svg.viewBox.baseVal.width,
    h: svg.viewBox.baseVal.height,
  };
  let view = { ...base };

  // --- the view: zoom and pan ------------------------------------------------------------

  function clamp(value, low, high) {
    return Math.min(Math.max(value, low), high);
  }

  function setView(next) {
    const w = clamp(next.w, base.w / MAX_ZOOM, base.w);
    const h = (w / base.w) * base.h;
    // Keep at least half of the view over the picture.
    const x = clamp(next.x, base.x - w / 2, base.x + base.w - w / 2);
    const y = clamp(next.y, base.y - h / 2, base.y + base.h - h / 2);
    view = { x, y, w, h };
    svg.setAttribute("viewBox", `${x.toFixed(1)} ${y.toFixed(1)} ${w.toFixed(1)} ${h.toFixed(1)}`);
  }

  function zoomAt(factor, cx, cy) {
    const w = clamp(view.w / factor, base.w / MAX_ZOOM, base.w);
    const ratio = w / view.w;
    setView({ x: cx - (cx - view.x) * ratio, y: cy - (cy - view.y) * ratio, w, h: 0 });
  }

  function zoomCentre(factor) {
    zoomAt(factor, view.x + view.w / 2, view.y + view.h / 2);
  }

  function toSvgPoint(clientX, clientY) {
    const matrix = svg.getScreenCTM();
    if (!matrix) return { x: view.x + view.w / 2, y: view.y + view.h / 2 };
    const point = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
    return { x: point.x, y: point.y };
  }

  function unitsPerPixel() {
    const width = svg.getBoundingClientRect().width;
    return width > 0 ? view.w / width : 1;
  }

  root.querySelectorAll("[data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      const how = button.dataset.zoom;
      if (how === "in") zoomCentre(ZOOM_STEP);
      else if (how === "out") zoomCentre(1 / ZOOM_STEP);
      else setView({ ...base });
    });
  });

  // Ctrl + wheel (and a trackpad's pinch, which the browser reports as one) zooms; a plain
  // wheel keeps scrolling the page.
  svg.addEventListener(
    "wheel",
    (event) => {
      if (!event.ctrlKey && !event.metaKey) return;
      event.preventDefault();
      const at = toSvgPoint(event.clientX, event.clientY);
      zoomAt(event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, at.x, at.y);
    },
    { passive: false },
  );

  // Dragging pans; two fingers pinch. A press that barely moves stays a click.
  const pointers = new Map();
  let drag = null;
  let pinch = null;
  let suppressClick = false;

  function spread() {
    const [a, b] = [...pointers.values()];
    return { d: Math.hypot(a.x - b.x, a.y - b.y), mx: (a.x + b.x) / 2, my: (a.y + b.y) / 2 };
  }

  svg.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pointers.size === 2) {
      pinch = { ...spread(), w: view.w };
      drag = null;
    } else if (pointers.size === 1) {
      drag = { x: event.clientX, y: event.clientY, view: { ...view }, moved: false };
      suppressClick = false;
    }
  });

  svg.addEventListener("pointermove", (event) => {
    if (!pointers.has(event.pointerId)) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pinch && pointers.size === 2) {
      const now = spread();
      if (pinch.d > 0 && now.d > 0) {
        const at = toSvgPoint(now.mx, now.my);
        zoomAt(view.w / (pinch.w * (pinch.d / now.d)), at.x, at.y);
      }
      return;
    }
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD_PX) return;
    if (!drag.moved) {
      drag.moved = true;
      svg.setPointerCapture(event.pointerId);
      svg.classList.add("is-panning");
    }
    const scale = unitsPerPixel();
    setView({ ...drag.view, x: drag.view.x - dx * scale, y: drag.view.y - dy * scale });
  });

  function release(event) {
    pointers.delete(event.pointerId);
    if (pointers.size < 2) pinch = null;
    if (drag && drag.moved) suppressClick = true;
    if (pointers.size === 0) {
      drag = null;
      svg.classList.remove("is-panning");
    }
  }
  svg.addEventListener("pointerup", release);
  svg.addEventListener("pointercancel", release);

  // --- the context filter ------------------------------------------------------------------

  const edges = [...svg.querySelectorAll(".mg-edge")];
  const nodes = [...svg.querySelectorAll(".mg-node[data-value-id]")];
  const filter = root.querySelector("[data-context-filter]");
  const filterStatus = root.querySelector("[data-filter-status]");

  function applyFilter() {
    const contextId = filter.value;
    const touched = new Set();
    let shown = 0;
    edges.forEach((edge) => {
      const ids = (edge.dataset.contextIds || "").split(" ").filter(Boolean);
      const isShown = !contextId || ids.includes(contextId);
      edge.classList.toggle("mg-filtered-out", !isShown);
      if (isShown) {
        shown += 1;
        touched.add(edge.dataset.from);
        touched.add(edge.dataset.to);
      }
    });
    nodes.forEach((node) => {
      node.classList.toggle("mg-dimmed", Boolean(contextId) && !touched.has(node.dataset.valueId));
    });
    const label = filter.options[filter.selectedIndex].text;
    filterStatus.textContent = contextId
      ? `Showing ${shown} of ${edges.length} arrows: those in “${label}”.`
      : `Showing all ${edges.length} arrows.`;
  }
  if (filter) filter.addEventListener("change", applyFilter);

  // --- the value panel ---------------------------------------------------------------------

  const panel = document.querySelector("[data-value-panel]");
  const panelHeading = panel.querySelector("[data-panel-heading]");
  const panelBody = panel.querySelector("[data-panel-body]");
  const panelStatus = panel.querySelector("[data-panel-status]");
  const urlTemplate = root.dataset.valueUrl;
  let openedFrom = null;
  let request = 0;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function countsText(counts) {
    return (
      `${counts.markedWiser} wiser · ${counts.markedNotWiser} not wiser · ` +
      `${counts.markedUnsure} unsure · ${counts.markedLessWise} less wise · ` +
      `${counts.impressions} impressions`
    );
  }

  function cardsSection(cards) {
    const section = el("section", null, "value-panel-part");
    section.append(el("h4", `Raw cards merged into it (${cards.length})`));
    if (!cards.length) {
      section.append(el("p", "No participant's card is recorded for this value.", "muted small"));
      return section;
    }
    const list = el("ul", null, "joined-cards");
    cards.forEach((card) => {
      const item = el("li");
      item.append(el("span", card.title, "joined-card-title"), " ");
      item.append(el("span", card.is_merged ? "merged" : "became this value", "tag"));
      if (card.reason) item.append(el("p", card.reason, "muted small"));
      list.append(item);
    });
    section.append(list);
    return section;
  }

  function edgeItem(edge, valueId) {
    const item = el("li", null, `value-edge${edge.is_kept ? " kept" : ""}`);
    const line = el("p", null, "value-edge-pair");
    line.append(el("strong", edge.from_title), " → ", el("strong", edge.to_title));
    if (edge.is_kept) line.append(" ", el("span", "kept", "kept-mark"));
    item.append(line);
    item.append(
      el("p", `${edge.to_id === valueId ? "Judged wiser than" : "Judged less wise than"} ` +
        `the other value · ${edge.contexts.join("; ")}`, "small muted"),
    );
    item.append(
      el("p", `${countsText(edge.counts)} · likelihood ${edge.wiser_likelihood.toFixed(3)}`,
        "small"),
    );
    edge.stories.forEach((story) => {
      const quote = el("blockquote", null, "story");
      quote.append(el("p", story.context, "context-label"), el("p", story.story));
      item.append(quote);
    });
    if (!edge.stories.length) item.append(el("p", "No story recorded for this edge.", "muted small"));
    return item;
  }

  function edgesSection(details) {
    const section = el("section", null, "value-panel-part");
    section.append(el("h4", `Edges in this snapshot (${details.edges.length})`));
    const list = el("ul", null, "value-edges");
    details.edges.forEach((edge) => list.append(edgeItem(edge, details.id)));
    section.append(list);
    return section;
  }

  function render(details) {
    panelHeading.textContent = details.title;
    const card = el("div", null, "value-panel-card");
    card.append(el("p", details.description));
    if (details.policies.length) {
      card.append(el("h4", "What this value attends to"));
      const list = el("ul", null, "policies");
      details.policies.forEach((policy) => list.append(el("li", policy)));
      card.append(list);
    }
    panelBody.replaceChildren(card, cardsSection(details.cards), edgesSection(details));
  }

  async function openValue(node) {
    const id = node.dataset.valueId;
    const mine = ++request;
    nodes.forEach((other) => other.classList.toggle("mg-selected", other === node));
    openedFrom = node;
    panel.hidden = false;
    panelHeading.textContent = node.getAttribute("data-title") || "Value";
    panelBody.replaceChildren();
    panelStatus.textContent = "Loading the value…";
    try {
      const response = await fetch(urlTemplate.replace(/0\.json$/, `${id}.json`), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const details = await response.json();
      if (mine !== request) return;
      render(details);
      panelStatus.textContent = `Showing “${details.title}”.`;
    } catch (error) {
      if (mine !== request) return;
      panelStatus.textContent = `Could not load this value: ${error.message}.`;
    }
    panelHeading.focus();
  }

  panel.querySelector("[data-panel-close]").addEventListener("click", () => {
    panel.hidden = true;
    nodes.forEach((node) => node.classList.remove("mg-selected"));
    if (openedFrom) openedFrom.focus();
  });

  // The picture becomes interactive: the dots are buttons, so the SVG is a group, not an image.
  svg.setAttribute("role", "group");
  nodes.forEach((node) => {
    const title = node.querySelector("title");
    const name = title ? title.textContent : `Value ${node.dataset.valueId}`;
    node.setAttribute("data-title", name.split(" — winner:")[0]);
    node.setAttribute("tabindex", "0");
    node.setAttribute("role", "button");
    node.setAttribute("aria-label", `${name}: show details`);
    node.addEventListener("click", () => {
      if (suppressClick) {
        suppressClick = false;
        return;
      }
      openValue(node);
    });
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        openValue(node);
      }
    });
  });

  svg.classList.add("is-explorable");
  root.hidden = false;
})();
