// The interview chat: one WebSocket per interview, speaking the protocol in README.md
// ("The interview socket").
// Everything shown comes from frames: on (re)connect the client asks to `resume` after the
// last message it has, so a reload or a dropped connection loses nothing. Text from anyone
// is set with textContent: markup in a message or a card is shown, never run.
// The words shown come from the page (#chat-texts), translated with it.

import { createCardEditor } from "./card_editor.js";

const root = document.querySelector(".chat");
const transcript = document.getElementById("transcript");
const statusLine = document.getElementById("status");
const problem = document.getElementById("problem");
const errorLine = document.getElementById("error");
const retryButton = document.getElementById("retry");
const leaveForm = document.getElementById("leave");
const form = document.getElementById("composer");
const input = document.getElementById("message");
const sendButton = document.getElementById("send");
const stopButton = document.getElementById("stop");
const cardTemplate = document.getElementById("card-template");
const texts = Object.fromEntries(
  [...document.querySelectorAll("#chat-texts [data-key]")].map((el) => [
    el.dataset.key,
    el.textContent,
  ]),
);
const editor = createCardEditor({
  section: document.getElementById("card-editor"),
  texts,
  onSave: ({ proposalId, card }) => {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      editor.refused(texts.connection_lost);
      return;
    }
    clearProblem();
    statusLine.textContent = texts.saving;
    socket.send(JSON.stringify({ type: "edit_card", proposal_id: proposalId, card }));
  },
});

const RETRYABLE = new Set(["llm_unavailable", "empty_answer"]);
const LIMITS = new Set(["turn_limit", "token_limit", "token_budget"]);
const lastSentKey = `mge-last-message-${root.dataset.interviewId}`;

let socket = null;
let lastSeq = 0;
let retryDelay = 500;
let state = "idle";
let submitted = false;
// Frames replayed on (re)connect come before the first status frame: a card among them is
// shown without taking the focus from what the participant is doing.
let replaying = true;
const streaming = new Map(); // message_seq -> bubble being streamed
const cards = new Map(); // proposal_id -> card element
let latestCard = null; // the card in play: the only one that can be edited or confirmed

function scrollToEnd(el) {
  el.scrollIntoView({ block: "nearest" });
}

function bubble(role, text, seq) {
  const el = document.createElement("div");
  el.className = `bubble ${role}`;
  el.textContent = text;
  if (seq !== undefined) el.dataset.seq = String(seq);
  const label = document.createElement("span");
  label.className = "visually-hidden";
  label.textContent = `${role === "user" ? texts.you_said : texts.interviewer_said} `;
  el.prepend(label);
  transcript.appendChild(el);
  scrollToEnd(el);
  return el;
}

function setBubbleText(el, text) {
  const label = el.querySelector(".visually-hidden");
  el.textContent = text;
  if (label) el.prepend(label);
}

function showProblem(message, { retry = false, leave = false } = {}) {
  errorLine.textContent = message;
  retryButton.hidden = !retry;
  leaveForm.hidden = !leave;
  problem.hidden = false;
}

function clearProblem() {
  errorLine.textContent = "";
  retryButton.hidden = true;
  leaveForm.hidden = true;
  problem.hidden = true;
}

function setState(next) {
  state = next;
  const busy = state === "thinking" || state === "retrying";
  stopButton.hidden = !busy;
  sendButton.disabled = busy || submitted;
  // Screen readers wait for the whole answer rather than reading it word by word.
  transcript.setAttribute("aria-busy", busy ? "true" : "false");
  statusLine.textContent =
    state === "thinking" ? texts.writing : state === "retrying" ? texts.revising : "";
}

function withdrawStreamed() {
  // The model's card was refused and it answers again: what it wrote so far is withdrawn.
  for (const el of streaming.values()) el.remove();
  streaming.clear();
}

// Only the latest card can be confirmed, and only once it is finished and not being edited.
function updateCardActions() {
  for (const [id, el] of cards) {
    const isLatest = el === latestCard;
    const isDraft = el.dataset.draft === "true";
    const confirm = el.querySelector(".confirm");
    const edit = el.querySelector(".edit");
    const note = el.querySelector(".card-note");
    confirm.disabled = submitted || !isLatest || isDraft || editor.isOpen();
    edit.disabled = submitted || !isLatest || (editor.isOpen() && editor.proposalId === id);
    confirm.hidden = !isLatest;
    edit.hidden = !isLatest;
    note.textContent = !isLatest
      ? texts.superseded
      : isDraft
        ? texts.draft_note
        : editor.isOpen()
          ? texts.editing_note
          : "";
  }
}

function showCard(frame) {
  if (cards.has(frame.proposal_id)) return;
  for (const older of cards.values()) older.classList.add("superseded");
  const el = cardTemplate.content.firstElementChild.cloneNode(true);
  el.dataset.proposalId = String(frame.proposal_id);
  el.dataset.draft = String(frame.is_draft);
  el.dataset.author = frame.author;
  const title = frame.card.title || texts.no_title;
  el.setAttribute("aria-label", `${texts.card_named} ${title}`);
  el.querySelector(".card-kicker").textContent = frame.is_draft
    ? texts.kicker_draft
    : frame.author === "participant"
      ? texts.kicker_participant
      : texts.kicker_interviewer;
  el.querySelector(".card-title").textContent = title;
  el.querySelector(".card-description").textContent = frame.card.description;
  const list = el.querySelector(".card-policies");
  for (const policy of frame.card.policies) {
    const item = document.createElement("li");
    item.textContent = policy;
    list.appendChild(item);
  }
  const problems = el.querySelector(".card-problems");
  for (const text of frame.problems || []) {
    const item = document.createElement("li");
    item.textContent = text;
    problems.appendChild(item);
  }
  problems.hidden = !frame.is_draft || problems.children.length === 0;
  el.querySelector(".confirm").addEventListener("click", () => {
    if (!socket || socket.readyState !== WebSocket.OPEN || el !== latestCard) return;
    clearProblem();
    for (const button of transcript.querySelectorAll(".confirm")) button.disabled = true;
    statusLine.textContent = texts.submitting;
    socket.send(JSON.stringify({ type: "confirm_card", proposal_id: frame.proposal_id }));
  });
  el.querySelector(".edit").addEventListener("click", () => editor.open(frame));
  cards.set(frame.proposal_id, el);
  latestCard = el;
  transcript.appendChild(el);
  const wasSaving = editor.isOpen() && editor.isSaving;
  if (editor.isOpen()) editor.close();
  if (frame.is_draft && !submitted) {
    editor.open(frame, { focus: !replaying });
  }
  updateCardActions();
  if (replaying) return;
  if (frame.is_draft) return; // the editor has the focus
  // A new card is brought into view with its Confirm button focused.
  el.scrollIntoView({ block: "center" });
  el.querySelector(".confirm").focus({ preventScroll: true });
  if (wasSaving) statusLine.textContent = "";
}

editor.onChange(() => updateCardActions());

function onFrame(frame) {
  switch (frame.type) {
    case "token": {
      let el = streaming.get(frame.message_seq);
      if (!el) {
        el = bubble("assistant", "");
        el.setAttribute("aria-busy", "true");
        streaming.set(frame.message_seq, el);
      }
      // `offset` places the text in the answer: a socket that joined mid-answer first gets
      // everything so far at offset 0, so nothing is shown twice or out of order.
      const shown = el.textContent.length;
      const offset = frame.offset ?? shown;
      if (offset <= shown) {
        el.textContent = el.textContent.slice(0, offset) + frame.text;
        scrollToEnd(el);
      }
      break;
    }
    case "message": {
      if (transcript.querySelector(`[data-seq="${frame.seq}"]`)) break;
      let el = streaming.get(frame.seq);
      if (el) {
        streaming.delete(frame.seq);
        setBubbleText(el, frame.text);
        el.dataset.seq = String(frame.seq);
        el.removeAttribute("aria-busy");
      } else {
        el = bubble(frame.role, frame.text, frame.seq);
      }
      if (frame.stopped) el.classList.add("stopped");
      if (frame.role === "assistant") sessionStorage.removeItem(lastSentKey);
      lastSeq = Math.max(lastSeq, frame.seq);
      break;
    }
    case "card_proposed":
      showCard(frame);
      break;
    case "status":
      replaying = false;
      if (frame.state === "retrying") withdrawStreamed();
      setState(frame.state);
      break;
    case "error": {
      if (editor.isOpen() && editor.isSaving) {
        editor.refused(frame.message);
        statusLine.textContent = "";
        break;
      }
      const retry = RETRYABLE.has(frame.code) && sessionStorage.getItem(lastSentKey) !== null;
      const leave = LIMITS.has(frame.code) && cards.size === 0;
      showProblem(frame.message, { retry, leave });
      updateCardActions();
      if (statusLine.textContent === texts.submitting) statusLine.textContent = "";
      break;
    }
    case "card_submitted":
      submitted = true;
      sessionStorage.removeItem(lastSentKey);
      editor.close();
      updateCardActions();
      // Every card is screened before other participants see it; the journey goes on.
      statusLine.textContent = texts.submitted;
      window.location.assign(frame.next);
      break;
    default:
      break;
  }
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}${root.dataset.socketPath}`);
  socket.addEventListener("open", () => {
    retryDelay = 500;
    root.dataset.socket = "open";
    replaying = true;
    if (statusLine.textContent === texts.connection_lost) statusLine.textContent = "";
    socket.send(JSON.stringify({ type: "resume", after_seq: lastSeq }));
    if (queued) {
      // Sent with its client id: if it had already arrived, it is stored only once.
      socket.send(JSON.stringify(queued));
      queued = null;
    }
  });
  socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    root.dataset.socket = "closed";
    if (event.code === 4403) {
      showProblem(texts.other_session);
      return;
    }
    if (submitted) return;
    for (const el of streaming.values()) el.remove();
    streaming.clear();
    setState("idle");
    statusLine.textContent = texts.connection_lost;
    if (editor.isSaving) editor.refused(texts.connection_lost);
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 8000);
  });
}

let queued = null; // a message typed before the socket was (re)connected

function sendMessage(frame) {
  clearProblem();
  sessionStorage.setItem(lastSentKey, JSON.stringify(frame));
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    queued = frame;
    statusLine.textContent = texts.connecting;
    return;
  }
  socket.send(JSON.stringify(frame));
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text || state !== "idle" || queued) return;
  sendMessage({ type: "user_message", client_id: crypto.randomUUID(), text });
  input.value = "";
  fitMessageBox();
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

stopButton.addEventListener("click", () => socket?.send(JSON.stringify({ type: "stop" })));

// The message box grows with its text (where CSS cannot do it: `field-sizing`).
function fitMessageBox() {
  if (CSS.supports("field-sizing", "content")) return;
  input.style.height = "auto";
  input.style.height = `${input.scrollHeight + 2}px`;
}
input.addEventListener("input", fitMessageBox);

retryButton.addEventListener("click", () => {
  const saved = sessionStorage.getItem(lastSentKey);
  if (saved) sendMessage(JSON.parse(saved));
});

input.focus();
connect();
