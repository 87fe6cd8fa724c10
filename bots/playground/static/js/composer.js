// The message composer of a channel or a thread: Enter sends, Shift+Enter starts a new
// line, as in both apps. The channel's composer also has chips that fill in a demo agent
// keyword. The person picker ("Posting as") is the sidebar's: in reach with a thread open.

import { el } from "./markup.js";

const SUGGESTIONS = ["hello", "long", "code", "file", "format", "error"];

export function buildComposer(where, platform, send) {
  const wrap = el("div", `composer-wrap ${where}`);
  const box = el("div", "composer");
  const input = el("textarea", "composer-input");
  input.rows = 1;
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(input);
    }
  });
  input.addEventListener("input", () => autoGrow(input));
  box.append(input);
  const foot = el("div", "composer-foot");
  if (where === "channel") {
    const tries = el("div", "suggestions");
    tries.append(el("span", "muted", "Try:"));
    for (const word of SUGGESTIONS) {
      const chip = el("button", "chip", word);
      chip.type = "button";
      chip.addEventListener("click", () => {
        input.value = `@threadcast ${word}`;
        input.focus();
      });
      tries.append(chip);
    }
    foot.append(tries);
  } else {
    foot.append(el("span", "muted hint", platform.replyHint));
  }
  wrap.append(box, foot);
  return { wrap, input };
}

// Who is writing, as the apps show the signed-in person at the foot of their sidebar
// (Discord's user panel): here a picker, to see several people's threads and dialogs.
export function buildPersonPicker() {
  const picker = el("label", "user-picker");
  picker.append(el("span", "muted", "Posting as"));
  const select = el("select", "user-select");
  select.setAttribute("aria-label", "Posting as");
  picker.append(select);
  return { picker, select };
}

export function autoGrow(input) {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}
