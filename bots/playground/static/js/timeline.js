// The bot's API calls as they happen: a strip of the last 30 seconds (one tick per call,
// coloured by kind), the counts of the last minute next to the platform's limits, and the
// latest calls written out. The busy switch sits here because its effect shows here.

import { el } from "./markup.js";

const WINDOW_SECONDS = 30;
// The counts cover the last minute: until the latest call is that old, something still moves.
const COUNTS_SECONDS = 60;
const LOG_LINES = 6;
const KIND_LABELS = { post: "post", edit: "edit", limited: "429", error: "error", other: "other" };
const BUSY_LABELS = { slack: "Busy workspace", discord: "Busy server" };
const LIMITS = {
  slack: "Slack allows chat.update 50/min per workspace, postMessage 1/s per channel",
  discord: "Discord allows 5 message edits per 5 s per channel, 50 requests/s per bot",
};

export class Timeline {
  constructor(platform) {
    this.platform = platform;
    this.calls = [];
    this.lastCounts = -Infinity;
    this.onBusy = () => {};
    this.root = el("section", "timeline");
    this.root.setAttribute("aria-label", "API calls");
    const head = el("div", "timeline-head");
    head.append(el("strong", null, "API calls"));
    const legend = el("div", "legend");
    for (const kind of ["post", "edit", "limited", "other"]) {
      const item = el("span", `legend-item ${kind}`);
      item.append(el("i"), KIND_LABELS[kind]);
      legend.append(item);
    }
    this.counts = el("span", "counts");
    this.counts.title = LIMITS[platform];
    const busy = el("label", "busy-switch");
    this.busyInput = el("input");
    this.busyInput.type = "checkbox";
    this.busyInput.addEventListener("change", () => this.onBusy(this.busyInput.checked));
    busy.append(this.busyInput, el("span", "switch-track"), el("span", null, BUSY_LABELS[platform]));
    busy.title = "The simulator refuses part of the bot's calls with 429: watch it slow down";
    head.append(legend, this.counts, busy);
    this.canvas = el("canvas", "timeline-strip");
    this.log = el("ol", "timeline-log");
    this.root.append(head, this.canvas, this.log);
    // The strip's size as laid out, told after each layout that changes it: reading
    // clientWidth in each frame made Chromium lay the page out there and then, as replies
    // streamed.
    this.width = 0;
    this.height = 0;
    new ResizeObserver(([entry]) => {
      this.width = Math.round(entry.contentRect.width);
      this.height = Math.round(entry.contentRect.height);
    }).observe(this.canvas);
    setInterval(() => this.draw(), 100);
  }

  load(calls, busy) {
    this.calls = calls.slice();
    this.setBusy(busy);
    this.renderLog();
  }

  add(calls) {
    if (!calls.length) return;
    this.calls.push(...calls);
    if (this.calls.length > 2000) this.calls.splice(0, this.calls.length - 2000);
    this.renderLog();
  }

  setBusy(on) {
    this.busyInput.checked = on;
    this.root.classList.toggle("busy", on);
  }

  // The rows change only when calls come (load, add); the counts as calls leave the minute.
  renderLog() {
    const latest = this.calls.slice(-LOG_LINES).reverse();
    this.log.replaceChildren(
      ...latest.map((call) => {
        const row = el("li", `call ${call.kind}`);
        row.append(
          el("span", "call-time", clock(call.at)),
          el("span", "call-label", call.label),
          el("span", "call-outcome", call.outcome),
        );
        return row;
      }),
    );
    this.renderCounts(Date.now() / 1000);
  }

  // Set only when the text differs: an equal text set again still replaces the text node
  // (a mutation, a layout and a paint of the head) once a second.
  renderCounts(now) {
    this.lastCounts = now;
    const minute = this.calls.filter((c) => now - c.at < COUNTS_SECONDS);
    const count = (kind) => minute.filter((c) => c.kind === kind).length;
    const text =
      `last minute: ${count("post")} posts · ${count("edit")} edits · ${count("limited")} × 429`;
    if (this.counts.textContent !== text) this.counts.textContent = text;
  }

  // Called ten times a second; draws only when the picture differs from the one drawn: the
  // canvas's size, or a tick's place (ticks are placed on whole CSS pixels, so one moves every
  // 30 / width seconds), or the ticks shown. Once the latest call has left the strip's 30
  // seconds, the strip stands still: the frame already drawn (the bare grid) stays, so an idle
  // page costs no CPU (redrawn anyway, Chromium spent a tenth of a core on it: 0.108 against
  // 0.007 cores measured a minute after the last call). The counts go on until the calls have
  // left their minute too.
  draw() {
    const { canvas, width, height } = this;
    if (!width || !height || document.hidden) return;
    const ratio = window.devicePixelRatio || 1;
    const now = Date.now() / 1000;
    const latest = this.calls.length ? this.calls[this.calls.length - 1].at : -Infinity;
    // Counted once a second while a call is in the minute, and once after it has left.
    if (now - latest <= COUNTS_SECONDS + 2 && now - this.lastCounts > 1) this.renderCounts(now);
    const size = `${width}x${height}@${ratio}`;
    const ticks = [];
    for (const call of this.calls) {
      const age = now - call.at;
      if (age > WINDOW_SECONDS || age < -1) continue;
      ticks.push([Math.round(width - 3 - (age / WINDOW_SECONDS) * (width - 3)), call.kind]);
    }
    const frame = `${size}:${ticks.join(" ")}`;
    if (frame === this.drawnFrame) return;
    this.drawnFrame = frame;
    if (size !== this.colourSize) {
      // Read once, again after a resize: getComputedStyle for each tick of each frame made
      // Chromium bring the page's style up to date there and then, as replies streamed.
      this.colourSize = size;
      this.colours = this.readColours();
    }
    const colours = this.colours;
    if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
    if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    g.strokeStyle = colours.grid;
    g.fillStyle = colours.tick;
    g.font = "10px system-ui, sans-serif";
    for (let s = 0; s <= WINDOW_SECONDS; s += 5) {
      const x = width - (s / WINDOW_SECONDS) * width;
      g.beginPath();
      g.moveTo(x, 0);
      g.lineTo(x, height);
      g.stroke();
      if (s > 0 && s < WINDOW_SECONDS) g.fillText(`${s} s ago`, x + 3, height - 3);
    }
    for (const [x, kind] of ticks) {
      const tall = kind === "other" ? 0.45 : 0.8;
      g.fillStyle = colours[kind] || "#888";
      g.fillRect(x - 1, height * (1 - tall) - 2, 3, height * tall - 10 + 2);
    }
  }

  // The strip's colours, from the pane's stylesheet (Slack's light theme, Discord's dark).
  readColours() {
    const style = getComputedStyle(this.root);
    const read = (name, fallback) => style.getPropertyValue(`--${name}`).trim() || fallback;
    const colours = { grid: read("grid", "#ddd"), tick: read("tick", "#999") };
    for (const kind of Object.keys(KIND_LABELS)) colours[kind] = read(kind, "#888");
    return colours;
  }
}

function clock(at) {
  const d = new Date(at * 1000);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
