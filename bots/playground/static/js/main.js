// The page: one pane per platform, fed by the server's event stream (a snapshot, then
// updates). EventSource reconnects by itself; every reconnection starts from a snapshot.

import { discord } from "./discord.js";
import { EMOJI_FONT } from "./markup.js";
import { PaneView } from "./pane.js";
import { slack } from "./slack.js";

const panes = {};
if (!EMOJI_FONT) document.documentElement.dataset.emoji = "none";
const banner = document.getElementById("connection");

async function api(platform, action, body) {
  try {
    const response = await fetch(`/api/${platform}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) {
      panes[platform].showError(answer.error || `HTTP ${response.status}`);
      return null;
    }
    return answer;
  } catch (error) {
    panes[platform].showError(`The playground is not answering (${error.message})`);
    return null;
  }
}

panes.slack = new PaneView(document.querySelector('[data-pane="slack"]'), slack, api);
panes.discord = new PaneView(document.querySelector('[data-pane="discord"]'), discord, api);

const events = new EventSource("/events");
events.onmessage = (event) => {
  const data = JSON.parse(event.data);
  if (data.type === "snapshot") {
    for (const [platform, pane] of Object.entries(data.panes)) panes[platform].load(pane);
    banner.hidden = true;
    document.body.dataset.ready = "true";
  } else if (data.type === "update") {
    panes[data.platform].update(data);
  }
};
events.onerror = () => {
  banner.hidden = false;
};
