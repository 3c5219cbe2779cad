// The interview chat: one WebSocket per interview, speaking the protocol in README.md
// ("The interview socket").
// Everything shown comes from frames: on (re)connect the client asks to `resume` after the
// last message it has, so a reload or a dropped connection loses nothing. Text from anyone
// is set with textContent: markup in a message or a card is shown, never run.

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

const RETRYABLE = new Set(["llm_unavailable", "empty_answer"]);
const LIMITS = new Set(["turn_limit", "token_limit", "token_budget"]);
const lastSentKey = `mge-last-message-${root.dataset.interviewId}`;

let socket = null;
let lastSeq = 0;
let retryDelay = 500;
let state = "idle";
let submitted = false;
const streaming = new Map(); // message_seq -> bubble being streamed
const cards = new Map(); // proposal_id -> card element

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
  label.textContent = role === "user" ? "You said: " : "Interviewer: ";
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
  statusLine.textContent =
    state === "thinking" ? "The interviewer is writing…" :
    state === "retrying" ? "The interviewer is having another go…" : "";
}

function showCard(frame) {
  if (cards.has(frame.proposal_id)) return;
  for (const older of cards.values()) older.classList.add("superseded");
  const el = cardTemplate.content.firstElementChild.cloneNode(true);
  el.dataset.proposalId = String(frame.proposal_id);
  el.setAttribute("aria-label", `Proposed values card: ${frame.card.title}`);
  el.querySelector(".card-title").textContent = frame.card.title;
  el.querySelector(".card-description").textContent = frame.card.description;
  const list = el.querySelector(".card-policies");
  for (const policy of frame.card.policies) {
    const item = document.createElement("li");
    item.textContent = policy;
    list.appendChild(item);
  }
  const confirm = el.querySelector(".confirm");
  confirm.addEventListener("click", () => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    clearProblem();
    for (const button of transcript.querySelectorAll(".confirm")) button.disabled = true;
    statusLine.textContent = "Submitting your card…";
    socket.send(JSON.stringify({ type: "confirm_card", proposal_id: frame.proposal_id }));
  });
  cards.set(frame.proposal_id, el);
  transcript.appendChild(el);
  scrollToEnd(el);
}

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
      setState(frame.state);
      break;
    case "error": {
      const retry = RETRYABLE.has(frame.code) && sessionStorage.getItem(lastSentKey) !== null;
      const leave = LIMITS.has(frame.code) && cards.size === 0;
      showProblem(frame.message, { retry, leave });
      for (const button of transcript.querySelectorAll(".confirm")) button.disabled = false;
      if (statusLine.textContent === "Submitting your card…") statusLine.textContent = "";
      break;
    }
    case "card_submitted":
      submitted = true;
      sessionStorage.removeItem(lastSentKey);
      // Every card is screened before other participants see it; the journey goes on.
      statusLine.textContent =
        "Your card is submitted. It is being reviewed before other participants see it; " +
        "you can carry on. Taking you to the next step…";
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
    if (statusLine.textContent.startsWith("Connection lost")) statusLine.textContent = "";
    socket.send(JSON.stringify({ type: "resume", after_seq: lastSeq }));
    if (queued) {
      // Sent with its client id: if it had already arrived, it is stored only once.
      socket.send(JSON.stringify(queued));
      queued = null;
    }
  });
  socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    if (event.code === 4403) {
      showProblem("This interview belongs to another session.");
      return;
    }
    if (submitted) return;
    for (const el of streaming.values()) el.remove();
    streaming.clear();
    setState("idle");
    statusLine.textContent = "Connection lost; reconnecting…";
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
    statusLine.textContent = "Connecting… your message will be sent in a moment.";
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
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

stopButton.addEventListener("click", () => socket?.send(JSON.stringify({ type: "stop" })));

retryButton.addEventListener("click", () => {
  const saved = sessionStorage.getItem(lastSentKey);
  if (saved) sendMessage(JSON.parse(saved));
});

connect();
