// One platform's window: the sidebar of channels, the channel with its composer, and the
// thread panel that opens beside it (Slack's thread panel, Discord's thread view) as soon
// as the bot answers a message posted here, so the reply is seen streaming.

import { autoGrow, buildComposer, buildPersonPicker } from "./composer.js";
import { el } from "./markup.js";
import { messageNode } from "./message.js";
import { Timeline } from "./timeline.js";

const GROUP_SECONDS = 300; // consecutive messages of one author within this are grouped

export class PaneView {
  constructor(root, platform, api) {
    this.root = root;
    this.platform = platform; // the renderer: slack or discord
    this.api = api;
    this.messages = new Map();
    this.statuses = {};
    this.dialogs = []; // modals the bot opened for people here, until submitted or closed
    this.dialogForms = new Map(); // id -> its form, kept with what was typed in it
    this.rendered = new Map(); // id -> { key, node }
    this.channel = null;
    this.thread = null;
    // The thread open in each channel: switching channel shows that channel's, as left.
    this.threads = new Map();
    this.awaiting = new Map(); // id of a message posted here -> its channel: open its thread
    this.forgotten = null; // ids of the private replies sent before this page was opened
    this.divider = el("div", "replies-divider");
    this.divider.append(el("span"));
    this.channelEmpty = el("div", "empty muted", "No messages yet. Say hello to @threadcast.");
    this.threadEmpty = el("div", "empty muted", "This thread has no messages.");
    this.build();
  }

  // -- skeleton ----------------------------------------------------------------------
  build() {
    const p = this.platform;
    this.root.replaceChildren();
    const app = el("div", "app");
    this.rail = el("nav", "rail");
    this.rail.setAttribute("aria-label", p.name === "slack" ? "Workspaces" : "Servers");
    this.sidebar = el("aside", "sidebar");
    this.teamName = el("div", "team-name");
    this.channelList = el("nav", "channel-list");
    this.channelList.setAttribute("aria-label", "Channels");
    const person = buildPersonPicker();
    this.userSelect = person.select;
    this.sidebar.append(this.teamName, this.channelList, person.picker);

    const column = el("div", "channel-column");
    this.channelColumn = column;
    this.channelHeader = el("header", "channel-header");
    this.channelMessages = el("div", "messages");
    this.channelStatus = el("div", "status-line");
    this.composer = buildComposer("channel", this.platform, (input) => this.send(input, "channel"));
    column.append(this.channelHeader, this.channelMessages, this.channelStatus, this.composer.wrap);

    this.threadColumn = el("div", "thread-column");
    this.threadColumn.hidden = true;
    const threadHeader = el("header", "thread-header");
    this.threadTitle = el("div", "thread-title");
    this.threadSubtitle = el("div", "thread-subtitle");
    const titles = el("div", "thread-titles");
    titles.append(this.threadTitle, this.threadSubtitle);
    const close = el("button", "thread-close", "✕");
    close.type = "button";
    close.title = "Close thread";
    close.addEventListener("click", () => this.openThread(null));
    threadHeader.append(titles, close);
    this.threadMessages = el("div", "messages thread-messages");
    this.threadStatus = el("div", "status-line");
    this.replyComposer = buildComposer("thread", this.platform, (input) => this.send(input, "thread"));
    this.threadColumn.append(threadHeader, this.threadMessages, this.threadStatus, this.replyComposer.wrap);

    const main = el("div", "workspace");
    main.append(column, this.threadColumn);
    app.append(this.rail, this.sidebar, main);
    this.timeline = new Timeline(p.name);
    this.toast = el("div", "toast");
    this.toast.hidden = true;
    this.dialogLayer = el("div", "dialog-layer");
    this.dialogLayer.hidden = true;
    this.root.append(app, this.timeline.root, this.dialogLayer, this.toast);
    // Private replies and dialogs are shown to the person they are for: switching person
    // redraws (as if looking at that person's app).
    this.userSelect.addEventListener("change", () => {
      this.render();
      this.renderDialog();
    });
    this.timeline.onBusy = (on) => this.api(p.name, "busy", { on });
  }

  // -- state -------------------------------------------------------------------------
  load(pane) {
    this.directory = pane.directory;
    // A private reply lives in the app that received it: gone after a reload ("ephemeral
    // messages do not persist across reloads", docs.slack.dev/reference/methods/
    // chat.postEphemeral; Discord's "disappear when you [...] restart Discord",
    // support.discord.com/hc/en-us/articles/1500000580222). Kept when the feed reconnects.
    this.forgotten ??= new Set(pane.messages.filter((m) => m.ephemeral).map((m) => m.id));
    const kept = pane.messages.filter((m) => !this.forgotten.has(m.id));
    this.messages = new Map(kept.map((m) => [m.id, m]));
    this.statuses = pane.statuses;
    this.dialogs = pane.dialogs || [];
    this.rendered.clear();
    const channels = this.directory.channels;
    const saved = this.channel === null ? this.savedPlace() : {};
    if (channels.some((c) => c.id === saved.channel)) this.channel = saved.channel;
    if (!channels.some((c) => c.id === this.channel)) this.channel = channels[0].id;
    this.renderDirectory();
    this.timeline.load(pane.calls, pane.busy);
    if (this.messages.get(saved.thread)?.channel === this.channel) this.openThread(saved.thread);
    else this.render();
    this.renderDialog();
  }

  // Where a person is (channel, open thread) is in the page's address, as the apps keep it
  // in theirs (Slack: /client/T…/C…/thread/C…-ts, Discord: /channels/guild/thread), so a
  // reload shows the same place.
  savedPlace() {
    const place = new URLSearchParams(location.hash.slice(1)).get(this.platform.name) || "";
    const [channel, thread] = place.split("/");
    return { channel, thread };
  }

  savePlace() {
    const places = new URLSearchParams(location.hash.slice(1));
    places.set(this.platform.name, [this.channel, this.thread].filter(Boolean).join("/"));
    history.replaceState(null, "", `#${places}`);
  }

  update(update) {
    for (const message of update.upsert || []) {
      if (!this.forgotten.has(message.id)) this.messages.set(message.id, message);
    }
    for (const id of update.remove || []) this.messages.delete(id);
    if (update.statuses) this.statuses = update.statuses;
    if (update.calls) this.timeline.add(update.calls);
    if (update.busy !== undefined) this.timeline.setBusy(update.busy);
    if (update.dialogs) {
      this.dialogs = update.dialogs;
      this.renderDialog();
    }
    this.openAnsweredThread(update);
    if (update.upsert || update.remove || update.statuses) this.render();
  }

  // The thread the bot answers a message posted here in opens by itself (in its channel:
  // if another channel is shown now, it is that channel's open thread when shown again).
  openAnsweredThread(update) {
    if (!this.awaiting.size) return;
    const threads = (update.upsert || []).map((m) => this.platform.threadOf(m));
    threads.push(...Object.keys(update.statuses || {}));
    const answered = threads.find((id) => id && this.awaiting.has(id));
    if (answered) this.answered(answered);
  }

  answered(id) {
    const channel = this.awaiting.get(id);
    this.awaiting.delete(id);
    if (channel === this.channel) this.openThread(id);
    else this.threads.set(channel, id);
  }

  openThread(id) {
    this.thread = id;
    this.threads.set(this.channel, id);
    this.savePlace();
    this.threadColumn.hidden = id === null;
    this.root.classList.toggle("with-thread", id !== null);
    this.render();
    if (id !== null) scrollToEnd(this.threadMessages);
  }

  selectChannel(id) {
    // The channel shown: where its open thread took the channel's place (a narrow window),
    // the channel comes back, as the apps' narrow layouts go back from a thread.
    const covered = id === this.channel && this.channelColumn.offsetParent === null;
    this.channel = id;
    this.renderDirectory();
    this.openThread(covered ? null : (this.threads.get(id) ?? null));
    scrollToEnd(this.channelMessages);
  }

  // -- actions -----------------------------------------------------------------------
  async send(input, where) {
    const text = input.value;
    if (!text.trim()) return;
    // Past the app's limit it is not sent, as the apps do not send it (the server would
    // refuse it too): its reason shows and the text stays, to shorten.
    const length = [...text].length; // code points, as the server counts
    const limit = this.directory.max_text;
    if (length > limit) {
      this.showError(fillCounts(this.directory.too_long, { length, limit }));
      return;
    }
    const body = { channel: this.channel, user: this.userSelect.value, text };
    if (where === "thread") body.thread = this.thread;
    input.value = "";
    autoGrow(input);
    const answer = await this.api(this.platform.name, "post", body);
    if (answer && answer.id && where === "channel") this.awaitAnswer(answer.id, body.channel);
    if (!answer) input.value = text; // refused: nothing is lost
  }

  // A quick bot answers before the post's own response arrives: its reply (or status) came
  // over the feed already, and no later update may follow it to open the thread.
  awaitAnswer(id, channel) {
    const replies = [...this.messages.values()].filter((m) => this.platform.threadOf(m) === id);
    this.awaiting.set(id, channel);
    if (replies.length > 0 || id in this.statuses) this.answered(id);
  }

  press(messageId, action, value) {
    const body = { message: messageId, action, user: this.userSelect.value };
    if (value !== undefined) body.value = value;
    return this.api(this.platform.name, "press", body);
  }

  // The oldest dialog the bot opened for the person posting, drawn as the app draws its
  // modal: a modal shows only in the app of the person whose click opened it (Slack's
  // views.open takes that click's trigger_id, Discord's type 9 answers that interaction).
  // Submitted (or closed) through the server, as the platform sends it to the bot.
  renderDialog() {
    const open = this.dialogs.find((d) => d.user === this.userSelect.value) || null;
    for (const id of this.dialogForms.keys()) {
      if (!this.dialogs.some((d) => d.id === id)) this.dialogForms.delete(id);
    }
    this.dialogLayer.hidden = open === null;
    const form = open && (this.dialogForms.get(open.id) || this.buildDialog(open));
    if (form) this.dialogForms.set(open.id, form);
    if (this.dialogLayer.firstChild === form) return; // a person may be typing in it
    this.dialogLayer.replaceChildren(...(form ? [form] : []));
    const first = form && form.querySelector(".dialog-input");
    if (first) first.focus();
  }

  buildDialog(open) {
    const shape = this.platform.dialog(open.view);
    const form = el("form", "dialog");
    form.setAttribute("role", "dialog");
    form.setAttribute("aria-modal", "true");
    form.setAttribute("aria-label", shape.title);
    form.append(el("div", "dialog-title", shape.title));
    const fields = shape.inputs.map((input) => {
      const label = el("label", "dialog-field");
      const name = el("span", "dialog-label", input.label);
      if (input.mark) name.append(el("span", "dialog-mark", ` ${input.mark}`));
      const box = el(input.multiline ? "textarea" : "input", "dialog-input");
      box.placeholder = input.placeholder;
      box.value = input.initial;
      if (input.maxLength) box.maxLength = input.maxLength;
      label.append(name, box);
      form.append(label);
      return { input, box };
    });
    const buttons = el("div", "dialog-buttons");
    const close = el("button", "dialog-close", shape.close);
    close.type = "button";
    close.addEventListener("click", () => this.api(this.platform.name, "cancel", { dialog: open.id }));
    buttons.append(close);
    if (shape.submit) {
      const submit = el("button", "dialog-submit", shape.submit);
      submit.type = "submit";
      buttons.append(submit);
    }
    form.append(buttons);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = {};
      for (const { input, box } of fields) input.put(values, box.value);
      form.inert = true;
      const done = await this.api(this.platform.name, "submit", { dialog: open.id, values });
      if (!done) form.inert = false; // refused: what was typed stays
    });
    return form;
  }

  showError(text) {
    this.toast.textContent = text;
    this.toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (this.toast.hidden = true), 4000);
  }

  // -- rendering ---------------------------------------------------------------------
  context() {
    const users = this.directory.users;
    const channels = new Map(this.directory.channels.map((c) => [c.id, c.name]));
    return {
      userName: (id) => users[id],
      channelName: (id) => channels.get(id),
      press: (message, action, value) => this.press(message, action, value),
      fileUrl: (id) => `/files/${this.platform.name}/${encodeURIComponent(id)}`,
    };
  }

  renderDirectory() {
    const d = this.directory;
    const icon = el("div", "rail-icon active", d.name.trim().charAt(0).toUpperCase());
    icon.title = d.name;
    this.rail.replaceChildren(...this.platform.railExtras(), icon);
    this.teamName.replaceChildren(el("span", null, d.name), el("span", "chevron", "⌄"));
    const header = el("div", "sidebar-heading", this.platform.name === "slack" ? "Channels" : "TEXT CHANNELS");
    const items = d.channels.map((c) => {
      const item = el("button", "channel-item");
      item.type = "button";
      item.append(el("span", "hash", "#"), el("span", null, c.name));
      item.classList.toggle("active", c.id === this.channel);
      item.dataset.channel = c.id;
      item.addEventListener("click", () => this.selectChannel(c.id));
      return item;
    });
    this.channelList.replaceChildren(header, ...items);
    const chosen = this.userSelect.value;
    this.userSelect.replaceChildren(
      ...d.people.map((person) => {
        const option = el("option", null, d.users[person.id] || person.name);
        option.value = person.id;
        return option;
      }),
    );
    if (d.people.some((person) => person.id === chosen)) this.userSelect.value = chosen;
  }

  render() {
    const channelName = this.directory.channels.find((c) => c.id === this.channel).name;
    this.channelHeader.replaceChildren(el("span", "hash", "#"), el("span", "channel-name", channelName));
    const placeholder = this.platform.composerPlaceholder(channelName);
    this.composer.input.placeholder = placeholder;
    this.composer.input.setAttribute("aria-label", placeholder);
    this.replyComposer.input.placeholder = this.platform.replyPlaceholder;
    this.replyComposer.input.setAttribute("aria-label", this.platform.replyPlaceholder);

    // A private reply (Slack's ephemeral, Discord's flag 64) only its person sees.
    const viewer = this.userSelect.value;
    const all = [...this.messages.values()].filter((m) => !m.ephemeral || m.for === viewer).sort((a, b) => a.sort - b.sort || (a.id < b.id ? -1 : 1));
    const replies = new Map();
    for (const m of all) {
      const thread = this.platform.threadOf(m);
      if (thread && !m.ephemeral) replies.set(thread, [...(replies.get(thread) || []), m]);
    }
    const top = all.filter((m) => m.channel === this.channel && !this.platform.threadOf(m));
    this.fill(this.channelMessages, top, replies);
    this.renderStatus(this.channelStatus, this.channel);

    if (this.thread !== null) {
      const root = this.messages.get(this.thread);
      const inThread = replies.get(this.thread) || [];
      this.threadTitle.replaceChildren(...this.platform.threadIcon(), this.platform.threadTitle(root));
      this.threadSubtitle.textContent = `#${channelName}`;
      // Private replies show in the thread but are not among its replies (nor counted).
      const notes = all.filter((m) => m.ephemeral && this.platform.threadOf(m) === this.thread);
      const shown = [...inThread, ...notes].sort((a, b) => a.sort - b.sort);
      this.fill(this.threadMessages, root ? [root, ...shown] : shown, null, true, inThread.length);
      this.renderStatus(this.threadStatus, this.thread);
    }
  }

  renderStatus(node, id) {
    const status = this.statuses[id];
    node.replaceChildren();
    node.classList.toggle("active", Boolean(status));
    if (status) {
      node.append(el("span", "dots"), el("strong", null, this.directory.bot.name), ` ${status}`);
    }
  }

  fill(container, list, replies, inThread = false, replyCount = list.length - 1) {
    const stick = nearEnd(container);
    const nodes = [];
    let previous = null;
    list.forEach((message, index) => {
      const grouped = previous !== null && previous.user === message.user && !message.ephemeral &&
        message.sort - previous.sort < GROUP_SECONDS && !(inThread && index === 1) &&
        !(replies && replies.has(previous.id));
      const thread = replies ? this.platform.threadStartedBy(message, (id) => (replies.get(id) || []).length) : null;
      const threadReplies = thread ? replies.get(thread) || [] : [];
      const key = JSON.stringify([message, grouped, thread, threadReplies.length, this.thread === thread,
        threadReplies.length ? threadReplies[threadReplies.length - 1].sort : 0]);
      const where = `${inThread ? "t" : "c"}:${message.id}`;
      let cached = this.rendered.get(where);
      if (!cached || cached.key !== key) {
        const node = messageNode({
          platform: this.platform,
          users: this.directory.users,
          ctx: this.context(),
          message,
          grouped,
          thread,
          replies: threadReplies,
          open: this.thread === thread,
          onOpen: (id) => this.openThread(id),
        });
        cached = { key, node };
        this.rendered.set(where, cached);
      }
      nodes.push(cached.node);
      previous = message;
    });
    if (inThread && list.length > 1 && replyCount > 0) {
      const count = replyCount;
      this.divider.firstChild.textContent = `${count} ${count === 1 ? "reply" : "replies"}`;
      nodes.splice(1, 0, this.divider);
    }
    if (!list.length) nodes.push(inThread ? this.threadEmpty : this.channelEmpty);
    reconcile(container, nodes);
    if (stick) scrollToEnd(container);
  }

}

// Make ``container``'s children exactly ``nodes``, moving only what changed, so text a
// person is selecting or a button under the pointer stays in place.
function reconcile(container, nodes) {
  nodes.forEach((node, index) => {
    const current = container.children[index];
    if (current !== node) container.insertBefore(node, current || null);
  });
  while (container.children.length > nodes.length) container.lastElementChild.remove();
}

// The server's template, its {name:,} fields filled as Python's format fills them.
function fillCounts(template, values) {
  return template.replace(/\{(\w+):,\}/g, (_, name) => values[name].toLocaleString("en-US"));
}

function nearEnd(container) {
  return container.scrollHeight - container.scrollTop - container.clientHeight < 80;
}

function scrollToEnd(container) {
  container.scrollTop = container.scrollHeight;
}
