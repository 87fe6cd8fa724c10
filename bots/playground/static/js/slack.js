// How Slack's client shows a message: with blocks, the blocks (the text is then only the
// notification fallback); without, the mrkdwn text. Block Kit reference:
// docs.slack.dev/reference/block-kit/blocks (section, header, context, divider, actions,
// markdown, rich_text, image).

import { el, emoji, formatSize, isImage, renderText, withEmoji } from "./markup.js";

export const slack = {
  name: "slack",
  appBadge: "APP",
  channelPrefix: "#",
  composerPlaceholder: (channel) => `Message #${channel}`,
  replyPlaceholder: "Reply…",
  replyHint: "Replies in the thread reach the bot without a mention",
  threadTitle: () => "Thread",
  threadIcon: () => [],
  railExtras: () => [],

  // The thread a message is shown in (null: the channel), and the thread a channel
  // message leads to (Slack: the parent's own ts, once it has replies).
  threadOf: (message) => message.thread,
  threadStartedBy: (message, repliesTo) => (repliesTo(message.id) > 0 ? message.id : null),

  timeLabel(sort) {
    return new Date(sort * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  },

  hasStop: (message) => buttons(message.blocks).length > 0,

  // chat.postEphemeral: Slack marks it above the message, with its way to dismiss it.
  ephemeralNote: { where: "head", text: "Only visible to you" },

  // A modal view (docs.slack.dev reference/views/modal-views): its title, its input
  // blocks' plain_text_inputs, and its submit and close buttons ("Cancel" by default).
  dialog(view) {
    const inputs = (view.blocks || [])
      .filter((block) => block.type === "input" && block.element && block.element.type === "plain_text_input")
      .map((block) => ({
        label: block.label ? block.label.text : "",
        mark: block.optional ? "(optional)" : "",
        placeholder: block.element.placeholder ? block.element.placeholder.text : "",
        multiline: Boolean(block.element.multiline),
        maxLength: block.element.max_length || null,
        initial: block.element.initial_value || "",
        put: (values, text) => {
          values[block.block_id] = { ...(values[block.block_id] || {}), [block.element.action_id]: text };
        },
      }));
    return {
      title: view.title ? view.title.text : "",
      inputs,
      submit: view.submit ? view.submit.text : null,
      close: view.close ? view.close.text : "Cancel",
    };
  },

  body(message, ctx) {
    const body = el("div", "msg-body");
    if (message.blocks && message.blocks.length) {
      for (const block of message.blocks) body.append(renderBlock(block, message, ctx));
    } else if (message.text) {
      body.append(renderText(message.text, message.markdown ? "markdown" : "mrkdwn", ctx));
    }
    if (message.files.length) body.append(files(message.files, ctx));
    return body;
  },

  replySummary(count, lastSort) {
    const row = el("button", "thread-summary");
    row.type = "button";
    row.append(el("span", "thread-count", `${count} ${count === 1 ? "reply" : "replies"}`));
    row.append(el("span", "thread-last", `Last reply ${slack.timeLabel(lastSort)}`));
    return row;
  },
};

function buttons(blocks) {
  const found = [];
  for (const block of blocks || []) {
    if (block.type === "actions") found.push(...(block.elements || []).filter((e) => e.type === "button"));
    if (block.accessory && block.accessory.type === "button") found.push(block.accessory);
  }
  return found;
}

function textObject(obj, ctx) {
  if (!obj) return el("span");
  if (obj.type === "mrkdwn") return renderText(obj.text || "", "mrkdwn", ctx);
  return el("div", "plain", obj.text || "");
}

function renderBlock(block, message, ctx) {
  switch (block.type) {
    case "section": {
      const node = el("div", "block section");
      const main = el("div", "section-main");
      if (block.text) main.append(textObject(block.text, ctx));
      if (block.fields) {
        const grid = el("div", "fields");
        for (const field of block.fields) grid.append(textObject(field, ctx));
        main.append(grid);
      }
      node.append(main);
      if (block.accessory && block.accessory.type === "button") {
        node.append(button(block.accessory, message, ctx));
      }
      return node;
    }
    case "header":
      return el("div", "block header", block.text ? block.text.text : "");
    case "divider":
      return el("hr", "block divider");
    case "context": {
      const node = el("div", "block context");
      for (const element of block.elements || []) {
        node.append(element.type === "image" ? emoji("🖼") : textObject(element, ctx));
      }
      return node;
    }
    case "actions": {
      const node = el("div", "block actions");
      for (const element of block.elements || []) {
        if (element.type === "button") node.append(button(element, message, ctx));
      }
      return node;
    }
    case "context_actions": {
      // Feedback buttons (docs.slack.dev reference/block-kit/blocks/context-actions-block):
      // one action id, the pressed side told by its value (👎 opens the bot's "why?" modal).
      const node = el("div", "block context-actions");
      for (const element of block.elements || []) {
        if (element.type !== "feedback_buttons") continue;
        for (const side of [element.positive_button, element.negative_button]) {
          if (!side || !side.text) continue;
          const press = el("button", "sk-feedback");
          press.append(withEmoji(side.text.text));
          press.type = "button";
          if (side.accessibility_label) {
            press.setAttribute("aria-label", side.accessibility_label);
            press.title = side.accessibility_label; // as Slack shows it on hover
          }
          press.dataset.action = element.action_id;
          press.dataset.value = side.value;
          press.addEventListener("click", () => {
            press.disabled = true;
            ctx.press(message.id, element.action_id, side.value).finally(() => (press.disabled = false));
          });
          node.append(press);
        }
      }
      return node;
    }
    case "markdown":
      return renderText(block.text || "", "markdown", ctx);
    case "rich_text":
      return richText(block, ctx);
    case "image": {
      const node = el("div", "block image");
      node.append(emoji("🖼"), el("span", "muted", ` ${block.alt_text || "image"}`));
      return node;
    }
    default:
      return el("div", "block unknown muted", `[${block.type} block]`);
  }
}

function button(element, message, ctx) {
  const node = el("button", `sk-button ${element.style || ""}`.trim());
  node.type = "button";
  node.append(withEmoji(element.text ? element.text.text : element.action_id));
  node.dataset.action = element.action_id;
  node.addEventListener("click", () => {
    node.disabled = true;
    ctx.press(message.id, element.action_id).finally(() => (node.disabled = false));
  });
  return node;
}

function richText(block, ctx) {
  const node = el("div", "block rich-text");
  for (const element of block.elements || []) node.append(richElement(element, ctx));
  return node;
}

function richElement(element, ctx) {
  switch (element.type) {
    case "rich_text_section":
      return richInline(el("div", "rt-section"), element.elements, ctx);
    case "rich_text_preformatted":
      return richInline(el("pre", "code-block"), element.elements, ctx);
    case "rich_text_quote":
      return richInline(el("blockquote", "quote"), element.elements, ctx);
    case "rich_text_list": {
      const list = el("div", "list");
      (element.elements || []).forEach((item, index) => {
        const row = el("div", "list-item");
        row.append(el("span", "bullet", element.style === "ordered" ? `${index + 1}.` : "•"));
        row.append(richInline(el("span"), item.elements, ctx));
        list.append(row);
      });
      return list;
    }
    default:
      return el("span");
  }
}

function richInline(container, elements, ctx) {
  for (const item of elements || []) {
    let node;
    if (item.type === "user") node = el("span", "mention", `@${ctx.userName(item.user_id) || item.user_id}`);
    else if (item.type === "channel") node = el("span", "mention", `#${ctx.channelName(item.channel_id) || item.channel_id}`);
    else if (item.type === "link") {
      node = el("a", "link", item.text || item.url);
      node.href = item.url;
      node.target = "_blank";
      node.rel = "noopener noreferrer";
    } else if (item.type === "emoji") node = el("span", null, `:${item.name}:`);
    else {
      node = el("span", null, item.text || "");
      const style = item.style || {};
      if (style.bold) node.style.fontWeight = "700";
      if (style.italic) node.style.fontStyle = "italic";
      if (style.strike) node.style.textDecoration = "line-through";
      if (style.code) node.className = "inline-code";
    }
    container.append(node);
  }
  return container;
}

function files(list, ctx) {
  const node = el("div", "files");
  for (const file of list) {
    const card = el("a", "file-card");
    card.href = ctx.fileUrl(file.id);
    card.target = "_blank";
    card.rel = "noopener";
    if (isImage(file.name)) {
      const img = el("img", "file-image");
      img.src = ctx.fileUrl(file.id);
      img.alt = file.name;
      card.append(img);
    }
    const icon = el("span", "file-icon", file.name.split(".").pop().slice(0, 4).toUpperCase());
    const info = el("span", "file-info");
    info.append(el("span", "file-name", file.name), el("span", "file-size", formatSize(file.size)));
    card.append(icon, info);
    node.append(card);
  }
  return node;
}
