// One message as both apps lay it out: avatar, author, app badge and time, then the body;
// a follow-on message of the same author shows only its body (the time on hover). A
// channel message that leads to a thread carries the way into it (Slack's "N replies",
// Discord's thread chip).

import { el } from "./markup.js";

export function messageNode({ platform, users, ctx, message, grouped, thread, replies, open, onOpen }) {
  const node = el("div", grouped ? "msg grouped" : "msg");
  node.dataset.id = message.id;
  if (message.bot) node.dataset.bot = "true";
  if (message.ephemeral) node.classList.add("ephemeral");
  const note = message.ephemeral ? platform.ephemeralNote : null;
  node.dataset.streaming = platform.hasStop(message) ? "true" : "false";
  const gutter = el("div", "gutter");
  const main = el("div", "msg-main");
  const author = users[message.user] || message.user;
  if (grouped) {
    gutter.append(el("span", "hover-time", platform.timeLabel(message.sort).replace("Today at ", "")));
  } else {
    gutter.append(avatar(author, message.bot));
    if (note && note.where === "head") main.append(el("div", "ephemeral-note", note.text));
    const head = el("div", "msg-head");
    head.append(el("span", "name", author));
    if (message.bot) head.append(el("span", "badge", platform.appBadge));
    head.append(el("span", "time", platform.timeLabel(message.sort)));
    main.append(head);
  }
  main.append(platform.body(message, ctx));
  if (note && note.where === "foot") main.append(el("div", "ephemeral-note", note.text));
  if (thread && (replies.length || platform.name === "discord")) {
    const last = replies.length ? replies[replies.length - 1].sort : message.sort;
    const summary = platform.replySummary(replies.length, last, message);
    summary.classList.toggle("open", open);
    summary.addEventListener("click", () => onOpen(thread));
    main.append(summary);
  }
  node.append(gutter, main);
  return node;
}

function avatar(name, bot) {
  const node = el("div", bot ? "avatar bot" : "avatar", bot ? "" : name.trim().charAt(0).toUpperCase());
  if (!bot) node.style.setProperty("--hue", String(hue(name)));
  return node;
}

// A stable colour per person, as the apps give each default avatar its own.
function hue(text) {
  let h = 0;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}
