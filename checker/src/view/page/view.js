// The group view: renders each state the server sends on /events (Server-Sent Events).
// EventSource reconnects by itself; while it cannot, the page says "disconnected".
"use strict";

const owners = new Map(); // "group topic-partition" -> member name, to show what moved
const moved = new Map();  // the same key -> until when it is marked as moved

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function memberName(m) {
  return m.instance_id || `${m.client_id}…${m.id.slice(-6)}`;
}

function clock(millis) {
  return new Date(millis).toLocaleTimeString([], { hour12: false });
}

function sparkline(history) {
  const points = history.map((v) => (v === null ? 0 : v));
  const width = 90, height = 18, max = Math.max(1, ...points);
  const step = points.length > 1 ? width / (points.length - 1) : width;
  const path = points.map((v, i) => `${(i * step).toFixed(1)},${(height - (v / max) * height).toFixed(1)}`);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", path.join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#2f6fdf");
  svg.append(line);
  return svg;
}

function renderGroup(group, now) {
  const card = el("div", { class: "card group", "data-group": group.id, "data-state": group.state });
  card.append(el("h3", {}, group.id));
  card.append(el("p", { class: "facts" },
    el("b", { class: "state" }, group.state),
    group.generation === null ? "" : el("span", { class: "generation", "data-generation": group.generation }, ` · generation ${group.generation}`),
    ` · ${group.protocol} · assignor ${group.assignor || "–"}`,
    ` · ${group.members.length} member(s) · ${group.generations_seen} generation(s) seen`,
    group.inferred ? el("span", { class: "inferred" }, " · events inferred from polling") : ""));
  const members = el("table", { class: "members" },
    el("tr", {}, el("th", {}, "member"), el("th", {}, "client id"), el("th", {}, "host"), el("th", {}, "owns")));
  for (const m of group.members) {
    const chips = el("td", { class: "owned" });
    for (const [topic, partition] of m.owned) {
      const key = `${group.id} ${topic}-${partition}`;
      const name = memberName(m);
      if (owners.has(key) && owners.get(key) !== name) moved.set(key, now + 5000);
      owners.set(key, name);
      const isMoved = (moved.get(key) || 0) > now;
      chips.append(el("span", {
        class: `chip p${partition % 8}${isMoved ? " moved" : ""}`,
        "data-topic": topic, "data-partition": partition, title: `${topic}-${partition}`,
      }, String(partition)));
    }
    members.append(el("tr", { class: "member", "data-member": m.id, "data-instance": m.instance_id || "" },
      el("td", {}, memberName(m)), el("td", {}, m.client_id), el("td", {}, m.host), chips));
  }
  card.append(members);
  if (group.offsets.length) {
    const offsets = el("table", { class: "offsets" },
      el("tr", {}, el("th", {}, "partition"), el("th", {}, "committed"), el("th", {}, "end"),
        el("th", {}, "lag"), el("th", {}, "lag, last minutes")));
    for (const o of group.offsets) {
      offsets.append(el("tr", {},
        el("td", {}, `${o.topic}-${o.partition}`), el("td", { class: "num" }, o.committed ?? "–"),
        el("td", { class: "num" }, String(o.end)), el("td", { class: "num lag" }, o.lag ?? "–"),
        el("td", {}, sparkline(o.history))));
    }
    card.append(offsets);
  }
  const timeline = el("ol", { class: "timeline", reversed: "" });
  for (const event of [...group.timeline].reverse()) {
    timeline.append(el("li", { class: event.kind, "data-kind": event.kind },
      el("time", {}, clock(event.at)), event.text));
  }
  if (!group.timeline.length) timeline.append(el("li", { class: "empty" }, "Nothing has happened since the view started."));
  card.append(el("h3", {}, "Timeline"), timeline);
  return card;
}

function renderTopic(topic) {
  const table = el("table", {},
    el("tr", {}, el("th", {}, "partition"), el("th", {}, "log start"), el("th", {}, "end"), el("th", {}, "records/s")));
  for (const p of topic.partitions) {
    table.append(el("tr", {}, el("td", {}, String(p.partition)), el("td", { class: "num" }, String(p.start)),
      el("td", { class: "num" }, String(p.end)), el("td", { class: "num" }, String(p.per_second))));
  }
  return el("div", { class: "card topic", "data-topic": topic.name }, el("h3", {}, topic.name), table);
}

function render(view) {
  const now = Date.now();
  const status = document.getElementById("status");
  const down = view.disconnected;
  status.className = `status ${down ? "disconnected" : "live"}`;
  status.dataset.status = down ? "disconnected" : "live";
  status.textContent = down
    ? `${view.broker}: disconnected (${down}); retrying`
    : `${view.broker}: live, last read ${clock(view.polled_at)}`;
  document.getElementById("source").textContent = view.source;
  const groups = document.getElementById("group-list");
  groups.replaceChildren(...(view.groups.length ? view.groups.map((g) => renderGroup(g, now))
    : [el("p", { class: "empty" }, "No group yet.")]));
  const topics = document.getElementById("topic-list");
  topics.replaceChildren(...(view.topics.length ? view.topics.map(renderTopic)
    : [el("p", { class: "empty" }, "No topic yet.")]));
}

const source = new EventSource("/events");
source.onmessage = (message) => render(JSON.parse(message.data));
source.onerror = () => {
  const status = document.getElementById("status");
  status.className = "status disconnected";
  status.dataset.status = "disconnected";
  status.textContent = "disconnected from the view; reconnecting…";
};
