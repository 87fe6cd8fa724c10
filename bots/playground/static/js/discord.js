// How Discord's client shows a message: Markdown content, embeds (a coloured bar, title,
// description, fields three to a row, footer), attachments, and components (action rows
// of buttons). discord-api-docs: Resources > Message (embeds), Interactions > Message
// Components (button styles 1 primary, 2 secondary, 3 success, 4 danger, 5 link).

import { el, emoji, formatSize, isImage, renderText, withEmoji } from "./markup.js";

// Icons drawn here (simple shapes, not Discord's artwork): a thread's speech bubble with
// a branch, and the home button's controller-like blob.
const THREAD_ICON = "M5 4h14a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-7l-5 4v-4H5a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 5v2h8V9H8z";
const HOME_ICON = "M4 8a4 4 0 0 1 4-4h8a4 4 0 0 1 4 4v5a4 4 0 0 1-4 4h-1l-3 3-3-3H8a4 4 0 0 1-4-4V8zm5 2.5a1.5 1.5 0 1 0 0 .01zm6 0a1.5 1.5 0 1 0 0 .01z";

function svgIcon(path, className) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  const shape = document.createElementNS(ns, "path");
  shape.setAttribute("d", path);
  shape.setAttribute("fill", "currentColor");
  svg.append(shape);
  return svg;
}

const BUTTON_STYLES = { 1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link" };

export const discord = {
  name: "discord",
  appBadge: "APP",
  channelPrefix: "#",
  composerPlaceholder: (channel) => `Message #${channel}`,
  replyPlaceholder: "Reply in thread…",
  // The bot does not ask for the privileged Message Content intent by default, so
  // Discord delivers it only the messages that mention it (README, Discord section).
  replyHint: "Mention @threadcast to follow up: without the Message Content intent the bot sees only mentions",
  threadTitle: (root) => (root && root.started_thread ? root.started_thread.name : "Thread"),
  threadIcon: () => [svgIcon(THREAD_ICON, "thread-icon")],
  railExtras() {
    const home = el("div", "rail-icon home");
    home.append(svgIcon(HOME_ICON, "home-icon"));
    home.title = "Direct Messages";
    return [home, el("div", "rail-separator")];
  },

  // A thread is its own channel whose id is the message it was opened on.
  threadOf: (message) => message.thread,
  threadStartedBy: (message) => (message.started_thread ? message.started_thread.id : null),

  timeLabel(sort) {
    const time = new Date(sort * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
    return `Today at ${time}`;
  },

  // The Stop button streams with the reply; 👍 / 👎 stay on the finished one.
  hasStop: (message) => componentButtons(message).some((b) => b.custom_id === "threadcast:stop"),

  // Flag 64: only the person the bot answered sees it, so marked under the message.
  ephemeralNote: { where: "foot", text: "Only you can see this" },

  // A modal (interaction callback type 9; discord-api-docs Interactions > Receiving and
  // Responding, Component Reference > Text Input): its title, one text input per action
  // row (style 2 paragraph), and Discord's own Cancel and Submit.
  dialog(modal) {
    const inputs = [];
    for (const row of modal.components || []) {
      for (const input of row.components || []) {
        if (input.type !== 4) continue;
        inputs.push({
          label: input.label || "",
          mark: input.required === false ? "" : "*", // Discord stars a required input
          placeholder: input.placeholder || "",
          multiline: input.style === 2,
          maxLength: input.max_length || null,
          initial: input.value || "",
          put: (values, text) => {
            values[input.custom_id] = text;
          },
        });
      }
    }
    return { title: modal.title || "", inputs, submit: "Submit", close: "Cancel" };
  },

  body(message, ctx) {
    const body = el("div", "msg-body");
    if (message.text) body.append(renderText(message.text, "markdown", ctx));
    for (const embed of message.embeds || []) body.append(renderEmbed(embed, ctx));
    if (message.files.length) body.append(attachments(message.files, ctx));
    const rows = (message.components || []).filter((row) => row.type === 1);
    for (const row of rows) body.append(actionRow(row, message, ctx));
    return body;
  },

  replySummary(count, lastSort, root) {
    const row = el("button", "thread-chip");
    row.type = "button";
    row.append(el("span", "thread-chip-name", root.started_thread.name));
    row.append(el("span", "thread-chip-count", `${count} ${count === 1 ? "Message" : "Messages"} ›`));
    return row;
  },
};

function componentButtons(message) {
  const found = [];
  for (const row of message.components || []) {
    for (const component of row.components || []) if (component.type === 2) found.push(component);
  }
  return found;
}

function actionRow(row, message, ctx) {
  const node = el("div", "dc-actions");
  for (const component of row.components || []) {
    if (component.type !== 2) continue;
    const style = BUTTON_STYLES[component.style] || "secondary";
    const button = el("button", `dc-button ${style}`);
    button.type = "button";
    if (component.emoji && component.emoji.name) button.append(emoji(component.emoji.name));
    button.append(withEmoji(component.label || ""));
    button.disabled = Boolean(component.disabled);
    if (component.custom_id) {
      button.dataset.action = component.custom_id;
      button.addEventListener("click", () => {
        button.disabled = true;
        ctx.press(message.id, component.custom_id).finally(() => (button.disabled = false));
      });
    }
    node.append(button);
  }
  return node;
}

function renderEmbed(embed, ctx) {
  const node = el("div", "embed");
  const colour = typeof embed.color === "number" ? embed.color : 0x1e1f22;
  node.style.borderLeftColor = `#${colour.toString(16).padStart(6, "0")}`;
  if (embed.author && embed.author.name) node.append(el("div", "embed-author", embed.author.name));
  if (embed.title) {
    const title = el(embed.url ? "a" : "div", "embed-title", embed.title);
    if (embed.url) {
      title.href = embed.url;
      title.target = "_blank";
      title.rel = "noopener noreferrer";
    }
    node.append(title);
  }
  if (embed.description) {
    const description = el("div", "embed-description");
    description.append(renderText(embed.description, "markdown", ctx));
    node.append(description);
  }
  if (embed.fields && embed.fields.length) {
    const grid = el("div", "embed-fields");
    for (const field of embed.fields) {
      const cell = el("div", field.inline ? "embed-field inline" : "embed-field");
      cell.append(el("div", "embed-field-name", field.name));
      const value = el("div", "embed-field-value");
      value.append(renderText(field.value || "", "markdown", ctx));
      cell.append(value);
      grid.append(cell);
    }
    node.append(grid);
  }
  if (embed.footer && embed.footer.text) node.append(el("div", "embed-footer", embed.footer.text));
  return node;
}

function attachments(list, ctx) {
  const node = el("div", "files");
  for (const file of list) {
    if (isImage(file.name)) {
      const img = el("img", "file-image");
      img.src = ctx.fileUrl(file.id);
      img.alt = file.name;
      node.append(img);
      continue;
    }
    const card = el("div", "file-card");
    const icon = el("span", "file-icon");
    icon.append(emoji("📄"));
    card.append(icon);
    const info = el("span", "file-info");
    const name = el("a", "file-name", file.name);
    name.href = ctx.fileUrl(file.id);
    name.target = "_blank";
    name.rel = "noopener";
    info.append(name, el("span", "file-size", formatSize(file.size)));
    card.append(info);
    node.append(card);
  }
  return node;
}
