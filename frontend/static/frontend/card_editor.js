// The card editor on the interview page: the participant rewrites the title, the
// description and each line of the card in play, adds and removes lines, and saves the
// result as a new version of the card (an `edit_card` frame, sent by chat.js).
// The rules mirror the server's (elicitation/services/card_rules.py), with the limits read
// from the editor's data attributes: Save is enabled only for a card the server will keep,
// and the server checks again. Text is set with textContent and form values only.

const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

function words(text) {
  return text.trim().split(/\s+/).filter(Boolean).length;
}

function chars(text) {
  return [...text].length; // code points, as the server counts
}

function tidy(text) {
  return text.split(/\s+/).filter(Boolean).join(" ");
}

export function createCardEditor({ section, texts, onSave }) {
  const rules = Object.fromEntries(
    Object.entries(section.dataset).map(([key, value]) => [key, Number(value)]),
  );
  const form = section.querySelector("#card-editor-form");
  const title = section.querySelector("#card-title-input");
  const description = section.querySelector("#card-description-input");
  const list = section.querySelector("#card-policy-list");
  const addLine = section.querySelector("#card-add-line");
  const problemsList = section.querySelector("#card-editor-problems");
  const save = section.querySelector("#card-save");
  const cancel = section.querySelector("#card-editor-cancel");
  const rowTemplate = document.getElementById("policy-row-template");
  let proposalId = null;
  let isSaving = false;
  let serverProblem = "";
  const listeners = new Set();

  function say(key, values = {}) {
    return Object.entries(values).reduce(
      (text, [name, value]) => text.replaceAll(`{${name}}`, String(value)),
      texts[key] || key,
    );
  }

  function lines() {
    return [...list.querySelectorAll(".policy-input")].map((input) => input.value);
  }

  function card() {
    return {
      title: tidy(title.value),
      description: description.value.trim(),
      policies: lines().map(tidy).filter(Boolean),
    };
  }

  function problems() {
    const found = [];
    const current = card();
    const raw = [title.value, description.value, ...lines()];
    if (raw.some((text) => CONTROL.test(text))) found.push(say("control"));
    const titleWords = words(current.title);
    if (!current.title) found.push(say("title_missing"));
    else if (titleWords < rules.titleMinWords || titleWords > rules.titleMaxWords) {
      found.push(say("title_words", { count: titleWords }));
    }
    if (chars(current.title) > rules.titleMaxChars) found.push(say("title_long"));
    if (!current.description) found.push(say("description_missing"));
    else if (chars(current.description) > rules.descriptionMaxChars) {
      found.push(say("description_long"));
    }
    const count = current.policies.length;
    if (count < rules.policiesMin) found.push(say("too_few_lines", { count }));
    else if (count > rules.policiesMax) found.push(say("too_many_lines", { count }));
    const seen = new Set();
    current.policies.forEach((policy, index) => {
      if (chars(policy) > rules.policyMaxChars) {
        found.push(say("line_long", { number: index + 1 }));
      }
      const key = policy.toLocaleLowerCase();
      if (seen.has(key)) found.push(say("line_repeated", { number: index + 1 }));
      seen.add(key);
    });
    return found;
  }

  function renumber() {
    const rows = [...list.querySelectorAll(".policy-row")];
    rows.forEach((row, index) => {
      const number = index + 1;
      const input = row.querySelector(".policy-input");
      input.id = `card-policy-${number}`;
      const label = row.querySelector(".policy-label");
      label.htmlFor = input.id;
      label.textContent = `${say("line")} ${number}`;
      row.querySelector(".remove-line").textContent = `${say("remove_line")} ${number}`;
    });
    addLine.disabled = rows.length >= rules.policiesMax;
  }

  function check() {
    const found = problems();
    if (serverProblem) found.push(serverProblem);
    problemsList.replaceChildren(
      ...found.map((text) => {
        const item = document.createElement("li");
        item.textContent = text;
        return item;
      }),
    );
    const isValid = problems().length === 0;
    save.disabled = !isValid || isSaving;
    return isValid;
  }

  function addRow(text) {
    const row = rowTemplate.content.firstElementChild.cloneNode(true);
    const input = row.querySelector(".policy-input");
    input.value = text;
    input.maxLength = rules.policyMaxChars;
    row.querySelector(".remove-line").addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      check();
      (next?.querySelector(".policy-input") || addLine).focus();
    });
    list.appendChild(row);
    return input;
  }

  function edited() {
    serverProblem = "";
    check();
  }

  form.addEventListener("input", edited);
  addLine.addEventListener("click", () => {
    const input = addRow("");
    renumber();
    check();
    input.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!check() || isSaving || proposalId === null) return;
    isSaving = true;
    save.disabled = true;
    onSave({ proposalId, card: card() });
  });
  cancel.addEventListener("click", () => close());

  function notify() {
    for (const listener of listeners) listener(isOpen());
  }

  function open(frame, { focus = true } = {}) {
    proposalId = frame.proposal_id;
    isSaving = false;
    serverProblem = "";
    title.value = frame.card.title;
    description.value = frame.card.description;
    list.replaceChildren();
    for (const policy of frame.card.policies) addRow(policy);
    while (list.children.length < rules.policiesMin) addRow("");
    renumber();
    section.hidden = false;
    check();
    notify();
    if (focus) {
      section.scrollIntoView({ block: "start" });
      const empty = [title, description, ...list.querySelectorAll(".policy-input")].find(
        (field) => !field.value.trim(),
      );
      (empty || title).focus();
    }
  }

  function close() {
    section.hidden = true;
    proposalId = null;
    isSaving = false;
    notify();
  }

  function isOpen() {
    return !section.hidden;
  }

  return {
    open,
    close,
    isOpen,
    get proposalId() {
      return proposalId;
    },
    get isSaving() {
      return isSaving;
    },
    // The server refused the edit: say why, and let them change it and save again.
    refused(message) {
      isSaving = false;
      serverProblem = message;
      check();
    },
    onChange(listener) {
      listeners.add(listener);
    },
  };
}
