// The stories page: each judgement is sent to the vote address and the next story shown in
// place, so judging five stories loads the page once. Without this script every form posts
// to the page itself, which answers with the next story.
//
// The vote address answers JSON (elicitation/vote_api.py): 200 {saved, judged, total, next}
// (next: where to go after the last story), 400 {error, message} (shown by the form, the
// answer kept), 409 {next} (the participant is no longer at this step), 429 (too fast).

const root = document.querySelector(".stories[data-vote-url]");
// The page's language: the messages come translated in data attributes.
const says = (name, fallback) => (root && root.dataset[name]) || fallback;

function showError(form, message) {
  const box = form.querySelector(".error");
  box.textContent = message;
  box.hidden = false;
}

function showNext(section) {
  const next = section.nextElementSibling;
  if (!next || !next.classList.contains("story-step")) {
    // Every story on the page judged but the server did not say where to go: the page
    // itself knows (the survey, or a story added since).
    window.location.reload();
    return;
  }
  section.hidden = true;
  next.hidden = false;
  const heading = next.querySelector("h1");
  heading.focus();
  next.scrollIntoView({ block: "start" });
}

async function send(form) {
  const section = form.closest(".story-step");
  const button = form.querySelector("button[type=submit]");
  const data = new FormData(form);
  if (!data.get("choice")) {
    form.reportValidity();
    return;
  }
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  let response;
  try {
    response = await fetch(root.dataset.voteUrl, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": data.get("csrfmiddlewaretoken"),
      },
      credentials: "same-origin",
      body: JSON.stringify({
        hypothesis: data.get("hypothesis"),
        choice: data.get("choice"),
        reason: data.get("reason") || "",
      }),
    });
  } catch {
    showError(form, says("msgOffline", "Your answer could not be sent. Please try again."));
    button.disabled = false;
    form.removeAttribute("aria-busy");
    return;
  }
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  form.removeAttribute("aria-busy");
  if (response.ok && body.next) {
    window.location.assign(body.next);
    return;
  }
  if (response.ok) {
    showNext(section);
    return;
  }
  if (response.status === 409 && body.next) {
    window.location.assign(body.next);
    return;
  }
  if (response.status === 403) {
    // The CSRF check: the session changed under the page; a reload gives a fresh form.
    window.location.reload();
    return;
  }
  button.disabled = false;
  showError(form, body.message || says("msgFailed", "Your answer could not be saved. Please try again."));
}

if (root) {
  for (const form of root.querySelectorAll("form.story-form")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(form);
    });
  }
}
