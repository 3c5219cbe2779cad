// The interview chat: one WebSocket per interview, speaking the protocol of DESIGN §4.1.
// Reconnects with `resume` after a dropped connection, so nothing shown is lost.

const root = document.querySelector(".chat");
const transcript = document.getElementById("transcript");
const statusLine = document.getElementById("status");
const errorLine = document.getElementById("error");
const form = document.getElementById("composer");
const input = document.getElementById("message");
const sendButton = document.getElementById("send");
const stopButton = document.getElementById("stop");

let socket = null;
let lastSeq = 0;
let retryDelay = 500;
const streaming = new Map(); // message_seq -> bubble being streamed

for (const bubble of transcript.querySelectorAll("[data-seq]")) {
  lastSeq = Math.max(lastSeq, Number(bubble.dataset.seq));
}

function bubble(role, text, seq) {
  const el = document.createElement("div");
  el.className = `bubble ${role}`;
  el.textContent = text; // text only: markup from anyone is shown, never run
  if (seq !== undefined) el.dataset.seq = String(seq);
  transcript.appendChild(el);
  el.scrollIntoView({ block: "end" });
  return el;
}

function setState(state) {
  const busy = state === "thinking" || state === "retrying";
  stopButton.hidden = !busy;
  sendButton.disabled = busy;
  statusLine.textContent =
    state === "thinking" ? "The interviewer is writing…" :
    state === "retrying" ? "The interviewer is taking longer than usual; trying again…" : "";
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
      el.textContent += frame.text;
      break;
    }
    case "message": {
      if (frame.seq <= lastSeq && transcript.querySelector(`[data-seq="${frame.seq}"]`)) break;
      let el = streaming.get(frame.seq);
      if (el) {
        streaming.delete(frame.seq);
        el.textContent = frame.text;
        el.dataset.seq = String(frame.seq);
        el.removeAttribute("aria-busy");
      } else {
        el = bubble(frame.role, frame.text, frame.seq);
      }
      if (frame.stopped) el.classList.add("stopped");
      lastSeq = Math.max(lastSeq, frame.seq);
      break;
    }
    case "status":
      setState(frame.state);
      break;
    case "error":
      errorLine.textContent = frame.message;
      break;
    case "card_submitted":
      window.location.assign(frame.next);
      break;
    default:
      document.dispatchEvent(new CustomEvent("interview-frame", { detail: frame }));
  }
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}${root.dataset.socketPath}`);
  socket.addEventListener("open", () => {
    retryDelay = 500;
    statusLine.textContent = "";
    socket.send(JSON.stringify({ type: "resume", after_seq: lastSeq }));
  });
  socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    if (event.code === 4403) {
      errorLine.textContent = "This interview belongs to another session.";
      return;
    }
    for (const el of streaming.values()) el.remove();
    streaming.clear();
    statusLine.textContent = "Connection lost; reconnecting…";
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 8000);
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
  errorLine.textContent = "";
  socket.send(JSON.stringify({ type: "user_message", client_id: crypto.randomUUID(), text }));
  input.value = "";
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});

stopButton.addEventListener("click", () => socket?.send(JSON.stringify({ type: "stop" })));

export function sendFrame(frame) {
  socket?.send(JSON.stringify(frame));
}

connect();
