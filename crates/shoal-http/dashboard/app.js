// The Shoal dashboard. Plain script, no build step: the node embeds this file.
// It talks to the one node that served it: /api/cluster... gathers the other members,
// /api/nodes/{node}/... forwards to one of them, /api/dashboard/events is the live feed.
"use strict";

const state = {
  cluster: null,          // the newest ClusterView
  previous: {},           // node name -> its sample before the newest
  latest: {},             // node name -> its newest sample
  events: [],             // NodeEvent, newest first
  seen: new Set(),        // node/process/seq of every event held
  actorPage: 0,
  actorSelected: null,    // {node, pid}
  samples: {},            // node -> [Sample]
  view: "cluster",
  known: new Set(),       // every node name this page has seen
};
const PAGE = 50;
const MAX_EVENTS = 5000;

// ---- small helpers ----
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? ""));
  return e;
}
function fill(tbody, rows) { tbody.replaceChildren(...rows); }
function ms(n) {
  if (n == null) return "—";
  if (n < 1000) return n + " ms";
  const s = Math.floor(n / 1000);
  if (s < 120) return s + " s";
  if (s < 7200) return Math.floor(s / 60) + " min";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}
function bytes(n) {
  if (n == null) return "—";
  if (n < 1024) return n + " B";
  if (n < 1 << 20) return (n / 1024).toFixed(1) + " KiB";
  if (n < 1 << 30) return (n / 1048576).toFixed(1) + " MiB";
  return (n / 1073741824).toFixed(2) + " GiB";
}
function rtt(us) { return us == null ? "—" : us < 1000 ? us + " µs" : (us / 1000).toFixed(1) + " ms"; }
function when(at_us) { return new Date(at_us / 1000).toLocaleTimeString(); }
function token() { return sessionStorage.getItem("shoal-token") || ""; }

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  const body = await r.json().catch(() => ({ error: "the node answered " + r.status + " with no JSON" }));
  if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
  return body;
}
// A mutating request. Resolves to {ok, text}: the node's own words either way.
async function act(path) {
  const headers = {};
  if (token()) headers["Authorization"] = "Bearer " + token();
  try {
    const r = await fetch(path, { method: "POST", headers });
    const body = await r.json().catch(() => ({}));
    if (r.ok) return { ok: true, text: JSON.stringify(body) };
    let text = body.error || ("HTTP " + r.status);
    if (r.status === 401) text = "refused (401): " + text + " — paste the admin token above";
    else if (r.status === 403) text = "refused (403): " + text + " — the token is wrong";
    else text = "failed (" + r.status + "): " + text;
    return { ok: false, text };
  } catch (e) {
    return { ok: false, text: "no answer: " + e.message };
  }
}
function say(id, result) {
  const p = $(id);
  p.textContent = result.text;
  p.className = "message " + (result.ok ? "ok" : "bad");
}
function nodePath(node, rest) { return "/api/nodes/" + encodeURIComponent(node) + "/" + rest; }

// ---- token ----
function showMode() {
  const admin = token() !== "";
  $("mode").textContent = admin ? "admin" : "read-only";
  $("mode").className = admin ? "admin" : "readonly";
  $("readonly-note").className = admin ? "hidden" : "";
}
$("token-save").onclick = () => {
  const t = $("token").value.trim();
  if (t) sessionStorage.setItem("shoal-token", t);
  $("token").value = "";
  showMode();
};
$("token-clear").onclick = () => { sessionStorage.removeItem("shoal-token"); showMode(); };

// ---- tabs ----
for (const b of document.querySelectorAll("nav button")) {
  b.onclick = () => show(b.dataset.view);
}
function show(view) {
  state.view = view;
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("on", b.dataset.view === view);
  for (const s of document.querySelectorAll(".view")) s.classList.toggle("on", s.id === "view-" + view);
  refreshView();
}
function refreshView() {
  if (state.view === "actors") loadActors();
  if (state.view === "registry") loadRegistry();
  if (state.view === "supervisor") loadSupervisor();
  if (state.view === "timeline") renderTimeline();
  if (state.view === "charts") loadCharts();
  if (state.view === "chaos") renderChaos();
}

// ---- cluster ----
function nodeState(entry) {
  if (!entry.report) return "unreachable";
  if (entry.report.node.isolated) return "isolated";
  const here = state.cluster.nodes[0].report;
  if (!here) return "alive";
  const m = here.members.find((m) => m.name === entry.name);
  return m ? m.state : "alive";
}
function renderCluster() {
  const c = state.cluster;
  if (!c) return;
  $("gathered-by").textContent = "via " + c.gathered_by;
  const live = c.nodes.length;
  $("node-count").textContent = live + " live" + (c.gone.length ? ", " + c.gone.length + " gone" : "");
  const rows = c.nodes.map((e) => {
    const r = e.report;
    const st = nodeState(e);
    const cpu = cpuPercent(e.name);
    const peers = r ? r.members.filter((m) => !m.self && m.queue_bytes != null) : [];
    const queue = peers.length ? peers.reduce((a, m) => a + m.queue_bytes, 0) : null;
    return el("tr", { "data-node": e.name, "data-state": st },
      el("td", {}, e.name), el("td", {}, el("span", { class: "state state-" + st }, st)),
      el("td", {}, r ? r.node.version : "—"), el("td", {}, r ? r.node.roles.join(", ") : "—"),
      el("td", {}, r ? ms(r.node.uptime_ms) : "—"), el("td", {}, cpu == null ? "—" : cpu.toFixed(1) + " %"),
      el("td", {}, r && r.sample ? bytes(r.sample.rss_bytes) : "—"), el("td", {}, r ? r.node.actors : "—"),
      el("td", {}, bytes(queue)), el("td", { class: e.error ? "error" : "" }, e.error || ""));
  });
  for (const g of c.gone) {
    if (c.nodes.some((e) => e.name === g.name)) continue;
    const st = g.reason === "Left" ? "left" : "down";
    rows.push(el("tr", { class: "gone", "data-node": g.name, "data-state": st },
      el("td", {}, g.name), el("td", {}, el("span", { class: "state state-" + st }, st)),
      el("td", { colspan: 7 }, "—"), el("td", {}, g.reason + " at " + when(g.at_us))));
  }
  fill($("nodes").tBodies[0], rows);
  noteStates(rows);
  renderMatrix();
  renderTopology();
}
// When each node's shown state last changed (ms since the epoch), for tests and
// `shoal bench dashboard`: window.shoalStates = {node: {state, since_ms}}.
window.shoalStates = {};
function noteStates(rows) {
  for (const tr of rows) {
    const name = tr.dataset.node, st = tr.dataset.state;
    const was = window.shoalStates[name];
    if (!was || was.state !== st) window.shoalStates[name] = { state: st, since_ms: Date.now() };
  }
}
function cpuPercent(name) {
  const prev = state.previous[name], cur = state.latest[name];
  if (!prev || !cur || prev.cpu_ms == null || cur.cpu_ms == null || cur.at_ms <= prev.at_ms) return null;
  return (100 * (cur.cpu_ms - prev.cpu_ms)) / (cur.at_ms - prev.at_ms);
}
// Keeps each node's two newest distinct samples, for CPU use between them.
function remember() {
  for (const e of state.cluster.nodes) {
    const s = e.report && e.report.sample;
    if (!s) continue;
    const cur = state.latest[e.name];
    if (cur && cur.at_ms === s.at_ms) continue;
    if (cur) state.previous[e.name] = cur;
    state.latest[e.name] = s;
  }
}
function renderMatrix() {
  const c = state.cluster;
  const live = c.nodes.map((e) => e.name);
  // Nodes the gathering node saw go down stay as columns (its newest 8): a partitioned or
  // crashed peer shows as a red column, not as one that vanished.
  const down = c.gone.map((g) => g.name).filter((n) => !live.includes(n)).slice(0, 8);
  const names = live.concat(down);
  const head = el("tr", {}, el("th", {}, "observer \\ peer"),
    ...live.map((n) => el("th", {}, n)), ...down.map((n) => el("th", { class: "gone" }, n + " (down)")));
  const rows = c.nodes.map((obs) => {
    const cells = names.map((peer) => {
      if (peer === obs.name) return el("td", { class: "self" }, "·");
      if (!obs.report) return el("td", { class: "missing", "data-peer": peer }, "?");
      const m = obs.report.members.find((m) => m.name === peer);
      if (!m) return el("td", { class: "missing", "data-peer": peer, title: obs.name + " does not list " + peer }, "not a member");
      const cls = m.state === "suspect" ? "suspect" : "ok";
      return el("td", { class: cls, "data-peer": peer, title: "last heard " + ms(m.last_heard_ms_ago) + " ago" },
        (m.state === "suspect" ? "suspect · " : "") + rtt(m.rtt_us) + " · " + ms(m.last_heard_ms_ago));
    });
    return el("tr", { "data-observer": obs.name }, el("th", {}, obs.name), ...cells);
  });
  $("matrix").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}
function renderTopology() {
  const svg = $("topology");
  const ns = "http://www.w3.org/2000/svg";
  const gone = state.cluster.gone.filter((g) => !state.cluster.nodes.some((e) => e.name === g.name))
    .map((g) => ({ name: g.name, gone: g.reason }));
  const nodes = state.cluster.nodes.concat(gone);
  const n = nodes.length, cx = 210, cy = 175, rad = n > 1 ? 140 : 0;
  const pos = {};
  nodes.forEach((e, i) => {
    const a = (2 * Math.PI * i) / n - Math.PI / 2;
    pos[e.name] = [cx + rad * Math.cos(a), cy + rad * Math.sin(a)];
  });
  const parts = [];
  for (const obs of nodes) {
    if (!obs.report) continue;
    for (const m of obs.report.members) {
      if (m.self || !pos[m.name] || m.name < obs.name) continue;
      const color = !m.linked ? "#9aa0a6" : m.rtt_us == null ? "#9aa0a6" : m.rtt_us < 1000 ? "#2e7d32" : m.rtt_us < 10000 ? "#f9a825" : "#c62828";
      const line = document.createElementNS(ns, "line");
      const [x1, y1] = pos[obs.name], [x2, y2] = pos[m.name];
      Object.entries({ x1, y1, x2, y2, stroke: color, "stroke-width": 2 }).forEach(([k, v]) => line.setAttribute(k, v));
      const t = document.createElementNS(ns, "title");
      t.textContent = obs.name + " ↔ " + m.name + ": " + rtt(m.rtt_us);
      line.append(t);
      parts.push(line);
    }
  }
  for (const e of nodes) {
    const [x, y] = pos[e.name];
    const g = document.createElementNS(ns, "g");
    const circle = document.createElementNS(ns, "circle");
    const st = e.gone ? "gone" : nodeState(e);
    const fill = { alive: "#2e7d32", suspect: "#b26a00", isolated: "#6a1b9a", gone: "#c7ccd1" }[st] || "#c62828";
    Object.entries({ cx: x, cy: y, r: 16, fill }).forEach(([k, v]) => circle.setAttribute(k, v));
    const label = document.createElementNS(ns, "text");
    Object.entries({ x, y: y + 32, "text-anchor": "middle", "font-size": 12 }).forEach(([k, v]) => label.setAttribute(k, v));
    label.textContent = e.gone ? e.name + " (" + e.gone + ")" : e.name;
    g.append(circle, label);
    parts.push(g);
  }
  svg.replaceChildren(...parts);
}

// ---- actors ----
let actorTimer = null;
$("actor-search").oninput = () => { clearTimeout(actorTimer); actorTimer = setTimeout(() => { state.actorPage = 0; loadActors(); }, 200); };
$("actor-sort").onchange = () => { state.actorPage = 0; loadActors(); };
$("actor-prev").onclick = () => { if (state.actorPage > 0) { state.actorPage--; loadActors(); } };
$("actor-next").onclick = () => { state.actorPage++; loadActors(); };
async function loadActors() {
  const q = encodeURIComponent($("actor-search").value.trim());
  const sort = $("actor-sort").value;
  const offset = state.actorPage * PAGE;
  let page;
  try {
    page = await getJson(`/api/cluster/actors?q=${q}&sort=${sort}&offset=${offset}&limit=${PAGE}`);
  } catch (e) {
    $("actor-errors").textContent = e.message;
    return;
  }
  const pages = Math.max(1, Math.ceil(page.total / PAGE));
  if (state.actorPage >= pages && state.actorPage > 0) { state.actorPage = pages - 1; return loadActors(); }
  $("actor-page-info").textContent = ` page ${state.actorPage + 1} of ${pages} (${page.total} actors) `;
  $("actor-errors").textContent = page.errors.map((e) => e.node + ": " + e.error).join("; ");
  window.shoalActorsShown = { total: page.total, at_ms: performance.now() };
  fill($("actors").tBodies[0], page.actors.map((a) => {
    const tr = el("tr", { class: "clickable", "data-pid": a.pid_text },
      el("td", {}, a.pid_text), el("td", {}, a.registered[0] || a.name || ""), el("td", {}, a.type_name),
      el("td", {}, a.status), el("td", {}, a.mailbox_depth), el("td", {}, a.handled), el("td", {}, a.restarts),
      el("td", {}, ms(a.uptime_ms)));
    tr.onclick = () => selectActor(a.pid.node.name, a.pid_text);
    if (state.actorSelected && state.actorSelected.pid === a.pid_text) tr.classList.add("selected");
    return tr;
  }));
}
async function selectActor(node, pid) {
  state.actorSelected = { node, pid };
  for (const tr of $("actors").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.pid === pid);
  const box = $("actor-detail");
  let d;
  try {
    d = await getJson(nodePath(node, "actors/" + encodeURIComponent(pid)));
  } catch (e) {
    box.replaceChildren(el("p", { class: "error" }, pid + ": " + e.message));
    return;
  }
  const link = (p) => { const a = el("a", { class: "pid" }, p); a.onclick = () => selectActor(p.split("@")[1], p); return a; };
  const parent = d.parent ? link(d.parent.id + "@" + d.parent.node.name) : "none";
  const children = d.children.length ? el("span", {}, ...d.children.flatMap((c) => [link(c), " "])) : "none";
  const kill = el("button", { id: "kill", class: "danger" }, "Kill");
  kill.onclick = async () => {
    const r = await act(nodePath(node, "actors/" + encodeURIComponent(pid) + "/kill"));
    say("actor-message", r);
    if (r.ok) setTimeout(loadActors, 300);
  };
  box.replaceChildren(
    el("h2", {}, d.registered[0] || d.name || d.pid_text),
    el("dl", {},
      el("dt", {}, "pid"), el("dd", {}, d.pid_text), el("dt", {}, "type"), el("dd", {}, d.type_name),
      el("dt", {}, "status"), el("dd", {}, d.status), el("dt", {}, "parent"), el("dd", {}, parent),
      el("dt", {}, "children"), el("dd", {}, children),
      el("dt", {}, "registered"), el("dd", {}, d.registered.join(", ") || "none"),
      el("dt", {}, "mailbox"), el("dd", {}, d.mailbox_depth + " waiting, " + d.dropped + " dropped"),
      el("dt", {}, "handled"), el("dd", {}, d.handled), el("dt", {}, "restarts"), el("dd", {}, d.restarts),
      el("dt", {}, "uptime"), el("dd", {}, ms(d.uptime_ms)),
      el("dt", {}, "links"), el("dd", {}, d.links && d.links.length ? el("span", {}, ...d.links.flatMap((p) => [link(p), " "])) : "none"),
      el("dt", {}, "monitored by"), el("dd", {}, d.monitored_by && d.monitored_by.length ? d.monitored_by.join(", ") : "none")),
    el("p", {}, kill), el("p", { id: "actor-message", class: "message" }));
  const st = el("pre", { id: "actor-state" }, "");
  box.append(st);
  getJson(nodePath(node, "actors/" + encodeURIComponent(pid) + "/state"))
    .then((s) => { st.textContent = "state: " + JSON.stringify(s.state, null, 1); })
    .catch(() => {});
}

// ---- registry ----
$("registry-search").oninput = () => loadRegistry();
async function loadRegistry() {
  try {
    const [names, groups] = await Promise.all([getJson("/api/registry"), getJson("/api/groups")]);
    const f = $("registry-search").value.trim().toLowerCase();
    const shown = names.filter((n) => !f || n.name.toLowerCase().includes(f)).slice(0, 2000);
    $("registry-count").textContent = names.length + " names" + (shown.length < names.length ? ", " + shown.length + " shown" : "");
    fill($("registry").tBodies[0], shown.map((n) => el("tr", { "data-name": n.name },
      el("td", {}, n.name), el("td", {}, n.pid_text), el("td", {}, n.pid.node.name), el("td", {}, when(n.registered_at_us)))));
    fill($("groups").tBodies[0], groups.map((g) => el("tr", {}, el("td", {}, g.group), el("td", {}, g.members.join(", ")))));
  } catch (e) {
    $("registry-count").textContent = e.message;
  }
  const conflicts = state.events.filter((e) => e.kind === "registry_conflict").slice(0, 50);
  $("conflicts").replaceChildren(...(conflicts.length ? conflicts.map(eventItem) : [el("li", {}, "none recorded")]));
}

// ---- supervisor ----
function startKind(v) {
  if (typeof v === "string") return v;
  const k = Object.keys(v)[0];
  return v[k] && v[k].from ? k + " from " + v[k].from : k;
}
async function loadSupervisor() {
  let s;
  try { s = await getJson("/api/supervisor"); } catch (e) { say("supervisor-message", { ok: false, text: e.message }); return; }
  const c = s.counts;
  $("supervisor-counts").textContent = `${c.specs} children, ${c.running} running, ${c.failed} given up`;
  $("supervisor-per-node").textContent = "running per node: " + Object.entries(s.running_per_node).map(([n, k]) => n + " " + k).join(", ");
  const names = state.cluster ? state.cluster.nodes.filter((e) => e.report).map((e) => e.name) : [];
  fill($("children").tBodies[0], s.children.map((ch) => {
    const select = el("select", {}, ...names.filter((n) => n !== ch.owner).map((n) => el("option", { value: n }, n)));
    const go = el("button", {}, "Migrate");
    go.onclick = async () => {
      say("supervisor-message", { ok: true, text: "moving " + ch.id + " to " + select.value + "…" });
      const r = await act(`/api/supervisor/migrate?id=${encodeURIComponent(ch.id)}&to=${encodeURIComponent(select.value)}`);
      say("supervisor-message", r);
      loadSupervisor();
    };
    return el("tr", { "data-child": ch.id, "data-owner": ch.owner },
      el("td", {}, ch.id), el("td", {}, ch.owner), el("td", {}, ch.pid ? ch.pid.id + "@" + ch.pid.node.name : (ch.failed ? "given up" : "—")),
      el("td", {}, ch.restarts), el("td", {}, startKind(ch.last_start)), el("td", {}, startKind(ch.last_start) === "Fresh" ? "—" : ch.state_kept ? "yes" : "no"),
      el("td", {}, select, " ", go));
  }));
}

// ---- timeline ----
function eventKey(e) { return e.node + "/" + e.seq + "/" + e.at_us; }
function addEvents(list) {
  let added = false;
  for (const e of list) {
    const k = eventKey(e);
    if (state.seen.has(k)) continue;
    state.seen.add(k);
    state.events.push(e);
    added = true;
  }
  if (!added) return;
  state.events.sort((a, b) => b.at_us - a.at_us);
  if (state.events.length > MAX_EVENTS) {
    for (const e of state.events.splice(MAX_EVENTS)) state.seen.delete(eventKey(e));
  }
  const kinds = new Set(state.events.map((e) => e.kind));
  const select = $("timeline-kind");
  const have = new Set([...select.options].map((o) => o.value));
  for (const k of [...kinds].sort()) if (!have.has(k)) select.append(el("option", { value: k }, k));
}
function eventItem(e) {
  return el("li", { "data-kind": e.kind },
    when(e.at_us) + "  ", el("span", { class: "kind k-" + e.kind }, e.kind), " " + e.node + ": " + e.detail);
}
$("timeline-filter").oninput = () => renderTimeline();
$("timeline-kind").onchange = () => renderTimeline();
function renderTimeline() {
  const f = $("timeline-filter").value.trim().toLowerCase();
  const kind = $("timeline-kind").value;
  const shown = state.events.filter((e) => (!kind || e.kind === kind) &&
    (!f || (e.node + " " + e.kind + " " + e.subject + " " + e.detail).toLowerCase().includes(f))).slice(0, 1000);
  $("timeline-count").textContent = shown.length + " of " + state.events.length + " events";
  $("timeline").replaceChildren(...shown.map(eventItem));
}

// ---- charts ----
// A node keeps its colour in every chart: the colour of its place among the nodes charted.
function colorOf(name, i) {
  const k = Object.keys(state.samples).sort().indexOf(name);
  return COLORS[(k >= 0 ? k : i) % COLORS.length];
}
const COLORS = ["#1565c0", "#2e7d32", "#c62828", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457", "#546e7a", "#9e9d24"];
let chartsLoaded = false;
async function loadCharts() {
  if (!chartsLoaded) {
    try {
      const all = await getJson("/api/cluster/samples?step_s=5");
      // The history (a point every 5 s), then the samples this page gathered live (every
      // second since it opened: a dip of a few seconds shows).
      for (const p of all.nodes) {
        const live = state.samples[p.node] || [];
        const from = live.length ? live[0].at_ms : Infinity;
        state.samples[p.node] = p.samples.filter((s) => s.at_ms < from).concat(live);
      }
      $("charts-errors").textContent = all.errors.map((e) => e.node + ": " + e.error).join("; ");
      chartsLoaded = true;
    } catch (e) { $("charts-errors").textContent = e.message; }
  }
  renderCharts();
}
function addSamples() {
  for (const e of state.cluster.nodes) {
    const s = e.report && e.report.sample;
    if (!s) continue;
    const list = state.samples[e.name] || (state.samples[e.name] = []);
    if (!list.length || list[list.length - 1].at_ms < s.at_ms) list.push(s);
    if (list.length > 3600) list.shift();
  }
}
function rate(list, field) {
  const out = [];
  for (let i = 1; i < list.length; i++) {
    const dt = (list[i].at_ms - list[i - 1].at_ms) / 1000;
    const a = list[i][field], b = list[i - 1][field];
    if (dt > 0 && a != null && b != null && a >= b) out.push([list[i].at_ms, (a - b) / dt]);
  }
  return out;
}
function renderCharts() {
  const nodes = Object.keys(state.samples).sort();
  const series = (f) => nodes.map((n) => ({ name: n, points: f(state.samples[n]) }));
  const gauge = (field, scale) => (list) => list.filter((s) => s[field] != null).map((s) => [s.at_ms, s[field] * (scale || 1)]);
  const here = state.cluster && state.cluster.gathered_by;
  const peers = {};
  for (const s of state.samples[here] || []) for (const p of s.peers) if (p.rtt_us != null) (peers[p.node] ||= []).push([s.at_ms, p.rtt_us / 1000]);
  const sent = {};
  for (const s of state.samples[here] || []) for (const p of s.peers) if (p.bytes_sent != null) (sent[p.node] ||= []).push({ at_ms: s.at_ms, b: p.bytes_sent });
  const charts = [
    ["Members alive (each node's view)", series(gauge("members_alive"))],
    ["Messages handled per second", series((l) => rate(l, "messages_handled"))],
    ["CPU, % of one core", series((l) => rate(l, "cpu_ms").map(([t, v]) => [t, v / 10]))],
    ["RSS, MiB", series(gauge("rss_bytes", 1 / 1048576))],
    ["RTT per peer from " + (here || "?") + ", ms", Object.entries(peers).map(([name, points]) => ({ name, points }))],
    ["Bytes sent per second per link from " + (here || "?"), Object.entries(sent).map(([name, list]) => ({ name, points: rate(list, "b") })),
      (state.samples[here] || []).length ? "not recorded by this node" : null],
    ["Restarts per second", series((l) => rate(l, "restarts"))],
    ["Failovers per second", series((l) => rate(l, "failovers"))],
  ];
  $("charts").replaceChildren(...charts.map(([title, s, empty]) => chart(title, s, empty)));
}
// `empty`: what to say when no series has a point (default: "no data yet").
function chart(title, series, empty) {
  const ns = "http://www.w3.org/2000/svg";
  const W = 420, H = 140, P = 30;
  const pts = series.flatMap((s) => s.points);
  const box = el("div", { class: "chart" }, el("h3", {}, title));
  if (!pts.length) { box.append(el("p", { class: "muted" }, empty || "no data yet")); return box; }
  const t0 = Math.min(...pts.map((p) => p[0])), t1 = Math.max(...pts.map((p) => p[0]));
  const vmax = Math.max(1e-9, ...pts.map((p) => p[1]));
  const x = (t) => P + ((t - t0) / Math.max(1, t1 - t0)) * (W - P - 4);
  const y = (v) => H - 16 - (v / vmax) * (H - 24);
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H);
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", 2); label.setAttribute("y", 12); label.setAttribute("font-size", 10);
  label.textContent = vmax >= 100 ? Math.round(vmax) : vmax.toFixed(2);
  svg.append(label);
  // One time label when every point has the same time (two would print over each other).
  for (const [t, anchor] of t1 > t0 ? [[t0, "start"], [t1, "end"]] : [[t0, "start"]]) {
    const tl = document.createElementNS(ns, "text");
    Object.entries({ x: x(t), y: H - 2, "font-size": 10, "text-anchor": anchor }).forEach(([k, v]) => tl.setAttribute(k, v));
    tl.textContent = new Date(t).toLocaleTimeString();
    svg.append(tl);
  }
  series.forEach((s, i) => {
    if (!s.points.length) return;
    if (s.points.length === 1) { // a one-point polyline draws nothing: a dot instead
      const dot = document.createElementNS(ns, "circle");
      const [t, v] = s.points[0];
      Object.entries({ cx: x(t), cy: y(v), r: 2.5, fill: colorOf(s.name, i) }).forEach(([k, v]) => dot.setAttribute(k, v));
      svg.append(dot);
      return;
    }
    const path = document.createElementNS(ns, "polyline");
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", colorOf(s.name, i));
    path.setAttribute("points", s.points.map(([t, v]) => x(t).toFixed(1) + "," + y(v).toFixed(1)).join(" "));
    svg.append(path);
  });
  box.append(svg, el("div", { class: "keys" }, ...series.map((s, i) => el("span", { style: "color:" + colorOf(s.name, i) }, s.name))));
  return box;
}

// ---- chaos ----
const cutBy = new Set(); // the nodes this page asked to cut, until a heal succeeds
function renderChaos() {
  if (!state.cluster) return;
  const box = $("chaos-nodes");
  const checked = new Set([...box.querySelectorAll("input:checked")].map((i) => i.value));
  box.replaceChildren(...state.cluster.nodes.map((e) =>
    el("label", {}, Object.assign(el("input", { type: "checkbox", value: e.name, "data-node": e.name }), { checked: checked.has(e.name) }), " " + e.name)));
}
$("chaos-partition").onclick = async () => {
  const all = state.cluster ? state.cluster.nodes.map((e) => e.name) : [];
  const side = [...$("chaos-nodes").querySelectorAll("input:checked")].map((i) => i.value);
  const rest = all.filter((n) => !side.includes(n));
  if (!side.length || !rest.length) { say("chaos-result", { ok: false, text: "choose some nodes, not all of them" }); return; }
  const cut = (node, peers) => act(nodePath(node, "chaos/partition?peers=" + encodeURIComponent(peers.join(","))));
  const results = await Promise.all([...side.map((n) => cut(n, rest)), ...rest.map((n) => cut(n, side))]);
  const bad = results.filter((r) => !r.ok);
  say("chaos-result", bad.length ? bad[0] : { ok: true, text: side.join(", ") + " cut off from " + rest.join(", ") });
};
// Heal asks every node the page has seen, cut-off ones included (the node forwards to
// their last address); one that is gone for good answers with why.
$("chaos-heal").onclick = async () => {
  const all = [...state.known];
  const results = await Promise.all(all.map((n) => act(nodePath(n, "chaos/heal")).then((r) => ({ n, r }))));
  const healed = results.filter((x) => x.r.ok).map((x) => x.n);
  const bad = results.filter((x) => !x.r.ok).map((x) => x.n + ": " + x.r.text);
  // A node gone for good (killed, not restarted) cannot heal and needs none: the heal
  // worked if every node that answered healed.
  say("chaos-result", { ok: healed.length > 0, text: "healed on " + (healed.join(", ") || "none") + (bad.length ? "; not reached: " + bad.join("; ") : "") });
};
$("chaos-kill").onclick = async () => {
  const pid = $("chaos-pid").value.trim();
  const node = pid.split("@")[1];
  if (!node) { say("chaos-result", { ok: false, text: "write the pid as id@node, e.g. 12@n2" }); return; }
  say("chaos-result", await act(nodePath(node, "actors/" + encodeURIComponent(pid) + "/kill")));
};

// ---- live feed ----
function onCluster(cluster) {
  state.cluster = cluster;
  for (const e of cluster.nodes) state.known.add(e.name);
  remember();
  addSamples();
  renderCluster();
  if (state.view === "chaos" && !document.activeElement.closest("#view-chaos")) renderChaos();
  if (state.view === "charts" && chartsLoaded) renderCharts();
}
function connect() {
  const feed = new EventSource("/api/dashboard/events");
  feed.addEventListener("tick", (m) => {
    const tick = JSON.parse(m.data);
    $("live").textContent = "live";
    $("live").className = "live-on";
    onCluster(tick.cluster);
    if (tick.events.length) {
      addEvents(tick.events);
      if (state.view === "timeline") renderTimeline();
      if (state.view === "supervisor" && tick.events.some((e) => e.kind.startsWith("child") || e.kind === "handoff")) loadSupervisor();
    }
    // Mailbox depths, counts and uptimes change without events: refresh the open page.
    if (state.view === "actors") loadActors();
  });
  feed.onerror = () => {
    $("live").textContent = "reconnecting…";
    $("live").className = "live-off";
  };
}

async function start() {
  showMode();
  connect();
  try { onCluster(await getJson("/api/cluster")); } catch (e) { $("live").textContent = e.message; }
  // The first full render of the default view (every node's row, matrix, topology), in ms
  // since the page started loading.
  window.shoalFirstRender = performance.now();
  try {
    const h = await getJson("/api/cluster/history?limit=1000");
    addEvents(h.events);
    renderTimeline();
  } catch (e) { $("timeline-count").textContent = e.message; }
  refreshView();
}
start();
