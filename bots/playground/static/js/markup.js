// Message text to DOM nodes, for Slack's mrkdwn and for Markdown (Discord, Slack's
// markdown block). Nodes are built with textContent only: no text ever becomes HTML.
//
// Slack mrkdwn (docs.slack.dev "Formatting text for app surfaces"): *bold*, _italic_,
// ~strike~, `code`, ```pre```, > quote, <url|text>, <@U…>, <#C…>, <!here>; &amp; &lt; &gt;
// are the only escapes. Discord Markdown (support.discord.com "Markdown Text 101"):
// **bold**, *italic* or _italic_, __underline__, ~~strike~~, `code`, ```lang code```,
// # headings, > quotes, - lists, -# subtext, [text](url), <@id>, <#id>.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

const SLACK_INLINE = [
  ["code", /`([^`\n]+)`/],
  ["angle", /<([^<>\s|][^<>|]*)(?:\|([^<>]*))?>/],
  ["bold", /(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])/],
  ["italic", /(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])/],
  ["strike", /(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])/],
  ["url", /https?:\/\/[^\s<>]+[^\s<>.,;:!?)]/],
];

const MARKDOWN_INLINE = [
  ["code", /`([^`\n]+)`/],
  ["mention", /<(@!?|@&|#)(\d+)>/],
  ["link", /\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/],
  ["angleurl", /<(https?:\/\/[^>\s]+)>/],
  ["bold", /\*\*(?!\s)(.+?)\*\*/],
  ["underline", /__(?!\s)(.+?)__/],
  ["italic", /(?<![\w*])\*(?![\s*])([^*\n]+?)\*(?![\w*])/],
  ["italic", /(?<![\w_])_(?![\s_])([^_\n]+?)_(?![\w_])/],
  ["strike", /~~(?!\s)(.+?)~~/],
  ["url", /https?:\/\/[^\s<>]+[^\s<>.,;:!?)]/],
];

function decodeSlack(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

// The earliest match of any rule; ties go to the first rule listed.
function firstMatch(text, rules) {
  let best = null;
  for (const [kind, pattern] of rules) {
    const match = pattern.exec(text);
    if (match && (best === null || match.index < best.match.index)) best = { kind, match };
  }
  return best;
}

function inline(text, dialect, ctx) {
  const rules = dialect === "mrkdwn" ? SLACK_INLINE : MARKDOWN_INLINE;
  const out = document.createDocumentFragment();
  const plain = (s) => out.append(withEmoji(dialect === "mrkdwn" ? decodeSlack(s) : s));
  let rest = text;
  while (rest) {
    const found = firstMatch(rest, rules);
    if (!found) {
      plain(rest);
      break;
    }
    const { kind, match } = found;
    if (match.index > 0) plain(rest.slice(0, match.index));
    out.append(renderToken(kind, match, dialect, ctx));
    rest = rest.slice(match.index + match[0].length);
  }
  return out;
}

function link(href, label) {
  const a = el("a", "link", label);
  if (/^https?:\/\//.test(href)) {
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
  }
  return a;
}

function wrap(tag, className, inner, dialect, ctx) {
  const node = el(tag, className);
  node.append(inline(inner, dialect, ctx));
  return node;
}

function renderToken(kind, match, dialect, ctx) {
  switch (kind) {
    case "code":
      return el("code", "inline-code", dialect === "mrkdwn" ? decodeSlack(match[1]) : match[1]);
    case "bold":
      return wrap("strong", null, match[1], dialect, ctx);
    case "italic":
      return wrap("em", null, match[1], dialect, ctx);
    case "strike":
      return wrap("s", null, match[1], dialect, ctx);
    case "underline":
      return wrap("u", null, match[1], dialect, ctx);
    case "url":
      return link(match[0], match[0]);
    case "angleurl":
      return link(match[1], match[1]);
    case "link":
      return link(match[2], match[1]);
    case "mention":
      return mention(match[1], match[2], ctx);
    case "angle":
      return slackAngle(match[1], match[2], ctx);
    default:
      return document.createTextNode(match[0]);
  }
}

function mention(sigil, id, ctx) {
  if (sigil === "#") return el("span", "mention", `#${ctx.channelName(id) || id}`);
  if (sigil === "@&") return el("span", "mention", "@role");
  return el("span", "mention", `@${ctx.userName(id) || id}`);
}

function slackAngle(target, label, ctx) {
  if (target.startsWith("@")) return el("span", "mention", `@${ctx.userName(target.slice(1)) || target.slice(1)}`);
  if (target.startsWith("#")) {
    const [id, name] = target.slice(1).split("|");
    return el("span", "mention", `#${name || ctx.channelName(id) || id}`);
  }
  if (target.startsWith("!")) return el("span", "mention", `@${target.slice(1).split("^")[0]}`);
  return link(target, label ? decodeSlack(label) : target);
}

// Block level: fenced code, then lines (quotes, headings, lists, paragraphs).
export function renderText(text, dialect, ctx) {
  const root = el("div", `markup ${dialect}`);
  const parts = text.split(/```/);
  parts.forEach((part, index) => {
    const isCode = index % 2 === 1 && index < parts.length - 1;
    if (isCode) root.append(codeBlock(part, dialect));
    else if (index % 2 === 1) renderLines("```" + part, root, dialect, ctx); // unclosed fence
    else renderLines(part, root, dialect, ctx);
  });
  return root;
}

function codeBlock(body, dialect) {
  let code = body;
  let language = "";
  const firstLine = /^([\w+#.-]*)\n/.exec(code);
  if (dialect === "markdown" && firstLine) {
    language = firstLine[1];
    code = code.slice(firstLine[0].length);
  } else if (code.startsWith("\n")) {
    code = code.slice(1);
  }
  if (code.endsWith("\n")) code = code.slice(0, -1);
  const pre = el("pre", "code-block");
  if (language) pre.dataset.language = language;
  pre.append(el("code", null, dialect === "mrkdwn" ? decodeSlack(code) : code));
  return pre;
}

function renderLines(text, root, dialect, ctx) {
  const lines = text.split("\n");
  // A fence's own line break belongs to the fence, not to an empty paragraph.
  if (lines.length > 1 && lines[0] === "" && root.lastChild && root.lastChild.tagName === "PRE") lines.shift();
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  let quote = null;
  let list = null;
  for (const line of lines) {
    const quoted = /^> ?(.*)$/.exec(line);
    if (quoted) {
      list = null;
      if (!quote) {
        quote = el("blockquote", "quote");
        root.append(quote);
      }
      quote.append(lineNode(quoted[1], dialect, ctx));
      continue;
    }
    quote = null;
    const heading = dialect === "markdown" && /^(#{1,3}) (.+)$/.exec(line);
    if (heading) {
      list = null;
      root.append(wrap(`h${heading[1].length + 2}`, "heading", heading[2], dialect, ctx));
      continue;
    }
    const subtext = dialect === "markdown" && /^-# (.+)$/.exec(line);
    if (subtext) {
      root.append(wrap("div", "subtext", subtext[1], dialect, ctx));
      continue;
    }
    const item = /^(\s*)([-*•◦]|\d+[.)]) (.*)$/.exec(line);
    if (item) {
      if (!list) {
        list = el("div", "list");
        root.append(list);
      }
      const row = el("div", "list-item");
      row.style.paddingLeft = `${Math.min(item[1].length, 8) * 0.5 + 0.2}em`;
      const bullet = /\d/.test(item[2]) ? item[2] : "•";
      const content = el("span", "list-text");
      content.append(inline(item[3], dialect, ctx));
      row.append(el("span", "bullet", bullet), content);
      list.append(row);
      continue;
    }
    list = null;
    root.append(lineNode(line, dialect, ctx));
  }
}

function lineNode(line, dialect, ctx) {
  const node = el("div", "line");
  if (line === "") node.classList.add("blank");
  node.append(inline(line, dialect, ctx));
  return node;
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function isImage(name) {
  return /\.(png|jpe?g|gif|webp)$/i.test(name);
}

// The apps draw emoji as images of their own (Slack's and Discord's emoji sets), so they show
// on any machine; the page draws them as text, an empty box where no font has them. Each one
// the bots or the page use is named (its accessible name, its tooltip), and where no colour
// emoji font is found (see hasEmojiFont) the name, or a plain sign any font has, shows in its
// place.
const EMOJI_NAMES = {
  "👍": ["thumbs up"],
  "👎": ["thumbs down"],
  "👁": ["eye"],
  "📄": ["file"],
  "🖼": ["image"],
  "⏹": ["stop", "■"],
  "🆕": ["new", "NEW"],
};
export const EMOJI_FONT = hasEmojiFont();
const PICTOGRAPH = /(\p{Extended_Pictographic}\uFE0F?)/u;

export function emoji(char) {
  const [name, sign] = EMOJI_NAMES[char.replace("\uFE0F", "")] || [char];
  const named = !EMOJI_FONT && name !== char;
  const node = el("span", named ? "emoji named" : "emoji", named ? sign || name : char);
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", name);
  node.title = name;
  node.dataset.name = name;
  return node;
}

// ``text`` (a button's label) with each emoji in it drawn by ``emoji``.
export function withEmoji(text) {
  const out = document.createDocumentFragment();
  text.split(PICTOGRAPH).forEach((part, index) => {
    if (index % 2) out.append(emoji(part));
    else if (part) out.append(part);
  });
  return out;
}

// Whether this machine draws colour emoji: 👍 on a canvas has coloured pixels, where a
// missing glyph's box (or a black-and-white glyph) has only grey ones.
function hasEmojiFont() {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 32;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  g.textBaseline = "top";
  g.font = "24px sans-serif";
  g.fillText("👍", 0, 0);
  const pixels = g.getImageData(0, 0, 32, 32).data;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] && (pixels[i] !== pixels[i + 1] || pixels[i + 1] !== pixels[i + 2])) return true;
  }
  return false;
}
