// posetrack review page: draws the tracks on the video's frames, a timeline of tracks, and sends
// edits to the local server, which applies them with posetrack.tracksfile.edit (the page never
// computes an id itself: what it shows is what Save writes). No build step, no dependencies.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const CHUNK = 500;             // frames of people fetched per request
const LANE = 16;               // timeline lane height (px)
const LABEL = 56;              // timeline label column (px)
const HINT_ROW = 14;           // timeline hint markers row (px)

const S = {
  meta: null, offsets: [], posOf: new Map(), chunks: new Map(), pending: new Set(),
  view: null, colors: new Map(), ops: [], redo: [], saved: "[]", busy: false,
  frame: 0, a: null, b: null, rangeIn: null, rangeOut: null,
  playing: false, lastTick: 0, images: new Map(), shown: null, zoom: null, hintAt: -1,
  lens: {s: 1, x: 0, y: 0}, follow: false,      // the video's zoom: scale, top-left corner (frame pixels)
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- server calls

async function api(path, body) {
  const init = body === undefined ? {headers: {"X-Posetrack-Token": TOKEN}} : {
    method: "POST", body: JSON.stringify(body),
    headers: {"X-Posetrack-Token": TOKEN, "Content-Type": "application/json"},
  };
  const reply = await fetch(path, init);
  const data = await reply.json();
  if (!reply.ok) throw new Error(data.error || reply.statusText);
  return data;
}

function status(text, error) {
  const el = $("status");
  el.textContent = text;
  el.className = error ? "error" : "";
}

// ---------------------------------------------------------------- people of the file, by frame

function chunkOf(pos) { return Math.floor(pos / CHUNK); }

function ensureChunk(c) {
  if (S.chunks.has(c) || S.pending.has(c) || c < 0 || c * CHUNK >= S.meta.frames.length) return;
  S.pending.add(c);
  api(`/api/people?start=${c * CHUNK}&end=${(c + 1) * CHUNK}`).then((people) => {
    S.chunks.set(c, people);
    S.pending.delete(c);
    draw();
  }).catch((e) => status(`could not read people: ${e.message}`, true));
}

// People drawn at the current frame: [{box, kps, id, flat}] (deleted ones left out).
function peopleAt(frame) {
  const pos = S.posOf.get(frame);
  if (pos === undefined) return [];
  const chunk = S.chunks.get(chunkOf(pos));
  if (!chunk) { ensureChunk(chunkOf(pos)); return []; }
  const list = chunk[pos - chunkOf(pos) * CHUNK];
  const out = [];
  list.forEach((p, i) => {
    const flat = S.offsets[pos] + i;
    const id = S.view ? S.view.ids[flat] : null;
    if (id !== null && id !== undefined) out.push({box: p.b, kps: p.k, id: id, flat: flat});
  });
  return out;
}

// ---------------------------------------------------------------- frames

function frameUrl(i) { return `/api/frame?i=${i}&token=${encodeURIComponent(TOKEN)}`; }

function image(i) {
  let img = S.images.get(i);
  if (!img) {
    img = new Image();
    img.onload = () => { if (i === S.frame) draw(); };
    img.src = frameUrl(i);
    S.images.set(i, img);
    if (S.images.size > 96) S.images.delete(S.images.keys().next().value);
  }
  return img;
}

function lastFrame() { return Math.max(0, (S.meta.video.frames || S.meta.frames.length) - 1); }

function go(frame) {
  const f = Math.max(0, Math.min(lastFrame(), Math.round(frame)));
  S.frame = f;
  image(f);
  for (let k = 1; k <= (S.playing ? 8 : 2); k++) if (f + k <= lastFrame()) image(f + k);
  const pos = S.posOf.get(f);
  if (pos !== undefined) { ensureChunk(chunkOf(pos)); ensureChunk(chunkOf(pos) + 1); }
  draw();
}

// ---------------------------------------------------------------- drawing the frame

function draw() {
  if (!S.meta) return;
  drawFrame();
  drawTimeline();
  drawPanel();
}

function drawFrame() {
  const cv = $("video"), g = cv.getContext("2d");
  if (S.follow) followSelection();
  const img = image(S.frame), L = S.lens;
  g.setTransform(1, 0, 0, 1, 0, 0);
  if (img.complete && img.naturalWidth) {
    g.drawImage(img, L.x, L.y, cv.width / L.s, cv.height / L.s, 0, 0, cv.width, cv.height);
    S.shown = S.frame;
  } else if (S.shown === null) { g.fillStyle = "#000"; g.fillRect(0, 0, cv.width, cv.height); }
  g.setTransform(L.s, 0, 0, L.s, -L.x * L.s, -L.y * L.s);
  const lw = Math.max(1, Math.round(Math.min(cv.width, cv.height) / 240)) / Math.sqrt(L.s);
  for (const p of peopleAt(S.frame)) drawPerson(g, p, lw);
  g.setTransform(1, 0, 0, 1, 0, 0);
  $("frame-input").value = S.frame;
  const t = timeOf(S.frame);
  $("frame-info").textContent = `/ ${lastFrame()}` + (t === null ? "" : `  ${t.toFixed(2)} s`);
  document.body.dataset.frame = S.frame;
}

function timeOf(frame) {
  const pos = S.posOf.get(frame);
  if (pos !== undefined && S.meta.times[pos] !== null) return S.meta.times[pos];
  return S.meta.video.fps ? frame / S.meta.video.fps : null;
}

function drawPerson(g, p, lw) {
  const color = S.colors.get(p.id) || "#ddd";
  const k = p.kps, ok = (j) => k[3 * j] !== null && k[3 * j + 1] !== null && k[3 * j + 2] >= S.meta.min_score;
  const selected = p.id === S.a ? "A" : p.id === S.b ? "B" : null;
  const [x1, y1, x2, y2] = p.box;
  if (selected) {
    g.lineWidth = lw * 4; g.strokeStyle = "#fff";
    g.strokeRect(x1 - 2 * lw, y1 - 2 * lw, x2 - x1 + 4 * lw, y2 - y1 + 4 * lw);
  }
  g.lineWidth = selected ? lw * 2 : lw; g.strokeStyle = color; g.setLineDash(selected ? [] : [4 * lw, 3 * lw]);
  g.strokeRect(x1, y1, x2 - x1, y2 - y1);
  g.setLineDash([]);
  g.lineWidth = lw * 2; g.lineCap = "round";
  for (const [i, j] of S.meta.skeleton) {
    if (!ok(i) || !ok(j)) continue;
    g.beginPath(); g.moveTo(k[3 * i], k[3 * i + 1]); g.lineTo(k[3 * j], k[3 * j + 1]); g.stroke();
  }
  g.fillStyle = color;
  for (let j = 0; j < k.length / 3; j++) {
    if (ok(j)) { g.beginPath(); g.arc(k[3 * j], k[3 * j + 1], lw * 1.5, 0, 2 * Math.PI); g.fill(); }
  }
  const text = selected ? `${p.id} (${selected})` : `${p.id}`;
  const size = Math.max(12 / S.lens.s, lw * 7);
  g.font = `bold ${size}px sans-serif`;
  const w = g.measureText(text).width + 6 / S.lens.s, h = size * 1.3;
  g.fillStyle = color; g.fillRect(x1, y1 - h, w, h);
  g.fillStyle = "#000"; g.fillText(text, x1 + 3 / S.lens.s, y1 - size * 0.3);
}

// ---------------------------------------------------------------- zoom on the video

function setLens(s, x, y) {
  const cv = $("video");
  s = Math.max(1, Math.min(12, s));
  S.lens = {s: s, x: Math.max(0, Math.min(cv.width - cv.width / s, x)), y: Math.max(0, Math.min(cv.height - cv.height / s, y))};
}

function followSelection() {            // keep A (and B) in view, zoomed on them
  const boxes = peopleAt(S.frame).filter((p) => p.id === S.a || p.id === S.b).map((p) => p.box);
  if (!boxes.length) return;
  const cv = $("video");
  const x1 = Math.min(...boxes.map((b) => b[0])), y1 = Math.min(...boxes.map((b) => b[1]));
  const x2 = Math.max(...boxes.map((b) => b[2])), y2 = Math.max(...boxes.map((b) => b[3]));
  const s = Math.min(cv.width / ((x2 - x1) * 3 + 1), cv.height / ((y2 - y1) * 2 + 1), 6);
  setLens(s, (x1 + x2) / 2 - cv.width / s / 2, (y1 + y2) / 2 - cv.height / s / 2);
}

function toFrame(ev) {                  // a mouse event -> frame pixels
  const cv = $("video"), r = cv.getBoundingClientRect(), L = S.lens;
  return [L.x + (ev.clientX - r.left) * cv.width / r.width / L.s, L.y + (ev.clientY - r.top) * cv.height / r.height / L.s];
}

function onVideoWheel(ev) {
  ev.preventDefault();
  S.follow = false;
  const [fx, fy] = toFrame(ev), L = S.lens, s = L.s * (ev.deltaY > 0 ? 0.8 : 1.25);
  setLens(s, fx - (fx - L.x) * L.s / s, fy - (fy - L.y) * L.s / s);
  draw();
}

function toggleFollow() {
  S.follow = !S.follow;
  if (!S.follow) setLens(1, 0, 0);
  status(S.follow ? "zoomed on the selection (F again: whole frame; wheel: zoom)" : "whole frame");
  draw();
}

// ---------------------------------------------------------------- timeline

function visible() {
  const n = lastFrame() + 1;
  return S.zoom || [0, n];
}

function xOf(frame, width) {
  const [v0, v1] = visible();
  return LABEL + (frame - v0) / (v1 - v0) * (width - LABEL);
}

function frameAtX(x, width) {
  const [v0, v1] = visible();
  return v0 + (x - LABEL) / (width - LABEL) * (v1 - v0);
}

function drawTimeline() {
  const cv = $("timeline"), lanes = S.view ? S.view.lanes : [];
  const width = cv.clientWidth || cv.width;
  const height = HINT_ROW + Math.max(1, lanes.length) * LANE + 4;
  if (cv.width !== width || cv.height !== height) { cv.width = width; cv.height = height; }
  const g = cv.getContext("2d");
  g.fillStyle = "#1b1d22"; g.fillRect(0, 0, width, height);
  const unit = Math.max(1, (width - LABEL) / (visible()[1] - visible()[0]));
  lanes.forEach((lane, row) => drawLane(g, lane, HINT_ROW + row * LANE, width, unit));
  if (S.rangeIn !== null) {
    const r0 = xOf(S.rangeIn, width), r1 = xOf((S.rangeOut ?? S.rangeIn) + 1, width);
    g.fillStyle = "rgba(255,255,255,0.12)"; g.fillRect(r0, 0, r1 - r0, height);
  }
  g.strokeStyle = "#e33"; g.setLineDash([4, 3]); g.lineWidth = 1;
  for (const c of S.meta.cuts) { const x = xOf(c, width); g.beginPath(); g.moveTo(x, 0); g.lineTo(x, height); g.stroke(); }
  g.setLineDash([]);
  for (const h of S.view ? S.view.hints : []) {
    const x = xOf(h.frame, width);
    g.fillStyle = "#f5c542"; g.beginPath(); g.moveTo(x - 4, 1); g.lineTo(x + 4, 1); g.lineTo(x, HINT_ROW - 3); g.fill();
  }
  const x = xOf(S.frame, width) + unit / 2;
  g.strokeStyle = "#fff"; g.lineWidth = 1; g.beginPath(); g.moveTo(x, 0); g.lineTo(x, height); g.stroke();
}

function drawLane(g, lane, y, width, unit) {
  const selected = lane.id === S.a || lane.id === S.b;
  if (selected) { g.fillStyle = "rgba(255,255,255,0.15)"; g.fillRect(0, y, width, LANE); }
  g.fillStyle = lane.color; g.font = "11px sans-serif";
  g.fillText(`${lane.id}${lane.id === S.a ? " A" : lane.id === S.b ? " B" : ""}`, 4, y + LANE - 4);
  const first = lane.runs[0][0], last = lane.runs[lane.runs.length - 1][1];
  g.strokeStyle = lane.color; g.lineWidth = 1;
  g.beginPath(); g.moveTo(xOf(first, width), y + LANE / 2); g.lineTo(xOf(last, width) + unit, y + LANE / 2); g.stroke();
  for (const [f0, f1, interp] of lane.runs) {
    const x0 = xOf(f0, width), x1 = xOf(f1, width) + unit;
    g.globalAlpha = interp ? 0.35 : 1;
    g.fillRect(x0, y + 3, Math.max(1, x1 - x0), LANE - 6);
  }
  g.globalAlpha = 1;
  g.fillStyle = "#fff";                               // where the id starts and ends
  g.fillRect(xOf(first, width), y + 1, 2, LANE - 2);
  g.fillRect(xOf(last, width) + unit - 2, y + 1, 2, LANE - 2);
}

function laneAt(y) {
  const row = Math.floor((y - HINT_ROW) / LANE);
  const lanes = S.view ? S.view.lanes : [];
  return row >= 0 && row < lanes.length ? lanes[row] : null;
}

// ---------------------------------------------------------------- side panel

function rangeText() {
  if (S.rangeIn === null) return "\u2013";
  const out = S.rangeOut ?? S.rangeIn;
  return `${Math.min(S.rangeIn, out)}\u2013${Math.max(S.rangeIn, out)}`;
}

function drawPanel() {
  $("sel-a").textContent = S.a ?? "\u2013";
  $("sel-b").textContent = S.b ?? "\u2013";
  $("sel-range").textContent = rangeText();
  document.body.dataset.a = S.a ?? "";
  document.body.dataset.b = S.b ?? "";
  $("btn-delete").firstChild.textContent = S.rangeIn === null ? "Delete A " : `Delete A in ${rangeText()} `;
  const dirty = JSON.stringify(S.ops) !== S.saved;
  $("dirty").hidden = !dirty;
  $("btn-save").disabled = !dirty || S.busy;
  $("btn-undo").disabled = !S.ops.length || S.busy;
  $("btn-redo").disabled = !S.redo.length || S.busy;
  document.body.dataset.dirty = dirty ? "1" : "0";
  document.body.dataset.busy = S.busy ? "1" : "0";
  document.title = (dirty ? "\u25cf " : "") + `posetrack review: ${S.meta.tracks}`;
}

function fillLists() {
  const edits = $("edits");
  edits.replaceChildren(...(S.view ? S.view.described : []).map((text) => {
    const li = document.createElement("li"); li.textContent = text; return li;
  }));
  document.body.dataset.edits = S.view ? S.view.described.length : 0;
  const hints = $("hints");
  hints.replaceChildren(...(S.view ? S.view.hints : []).map((h, k) => hintItem(h, k)));
}

function hintItem(h, k) {
  const li = document.createElement("li");
  const link = document.createElement("a");
  link.href = `#frame=${h.frame}`;
  link.textContent = `frame ${h.frame} \u00b7 ${h.kind}`;
  link.addEventListener("click", (ev) => { ev.preventDefault(); showHint(k); });
  const text = document.createElement("span"); text.textContent = ` ${h.text} `;
  li.append(link, text);
  if (h.suggestion) {
    const b = document.createElement("button");
    b.textContent = h.described; b.title = "apply this edit";
    b.addEventListener("click", () => { showHint(k); push(h.suggestion); });
    li.append(b);
  }
  return li;
}

function showHint(k) {
  const hints = S.view ? S.view.hints : [];
  if (!hints.length) return;
  S.hintAt = (k + hints.length) % hints.length;
  const h = hints[S.hintAt];
  S.a = h.ids[0]; S.b = h.ids.length > 1 ? h.ids[1] : null;
  history.replaceState(null, "", `#frame=${h.frame}`);
  go(h.frame);
}

// ---------------------------------------------------------------- edits

async function refresh(ops) {
  S.busy = true; drawPanel();
  try {
    S.view = await api("/api/view", {edits: ops});
    S.ops = ops;
    S.colors = new Map(S.view.lanes.map((l) => [l.id, l.color]));
    fillLists();
    return true;
  } catch (e) {
    status(e.message, true);
    return false;
  } finally {
    S.busy = false; draw();
  }
}

async function push(op) {
  if (S.busy) return;
  if (await refresh([...S.ops, op])) { S.redo = []; status(`applied: ${S.view.described[S.view.described.length - 1]}`); }
}

function need(...names) {
  for (const n of names) if (S[n] === null) { status(`select ${n.toUpperCase()} first (click a person or a lane${n === "b" ? " with Shift" : ""})`, true); return false; }
  return true;
}

const OPS = {
  swap: () => need("a", "b") && push({verb: "swap", a: S.a, b: S.b, from: S.frame}),
  merge: () => need("a", "b") && push({verb: "merge", a: S.a, b: S.b}),
  split: () => need("a") && push({verb: "split", a: S.a, at: S.frame}),
  delete: () => {
    if (!need("a")) return;
    if (S.rangeIn === null) return push({verb: "delete", a: S.a});
    const out = S.rangeOut ?? S.rangeIn;
    push({verb: "delete", a: S.a, frames: [Math.min(S.rangeIn, out), Math.max(S.rangeIn, out) + 1]});
  },
  relabel: () => {
    const input = $("relabel-input");
    if (!need("a")) return;
    if (input.value === "") { input.focus(); status("type the new id, then Enter"); return; }
    push({verb: "relabel", a: S.a, new: Number(input.value)});
    input.value = "";
  },
};

async function undo() {
  if (!S.ops.length || S.busy) return;
  const last = S.ops[S.ops.length - 1];
  if (await refresh(S.ops.slice(0, -1))) { S.redo.push(last); status("undone"); }
}

async function redo() {
  if (!S.redo.length || S.busy) return;
  const next = S.redo[S.redo.length - 1];
  if (await refresh([...S.ops, next])) { S.redo.pop(); status("redone"); }
}

async function save() {
  if (S.busy) return;
  S.busy = true; drawPanel();
  const ops = S.ops;
  try {
    const r = await api("/api/save", {edits: ops});
    S.saved = JSON.stringify(ops);
    status(`saved ${r.edits} edit(s) to ${r.saved}`);
    document.body.dataset.saved = (Number(document.body.dataset.saved || 0) + 1).toString();
  } catch (e) {
    status(`not saved: ${e.message}`, true);
  } finally {
    S.busy = false; draw();
  }
}

// ---------------------------------------------------------------- input

function select(id, second) {
  if (second) S.b = id === S.a ? null : id;
  else { S.a = id; if (S.b === id) S.b = null; }
  draw();
}

function personAt(ev) {
  const [x, y] = toFrame(ev);
  let best = null;
  for (const p of peopleAt(S.frame)) {
    const [x1, y1, x2, y2] = p.box;
    if (x >= x1 && x <= x2 && y >= y1 && y <= y2) {
      const area = (x2 - x1) * (y2 - y1);
      if (!best || area < best.area) best = {id: p.id, area: area};
    }
  }
  return best ? best.id : null;
}

function play(on) {
  S.playing = on;
  $("btn-play").innerHTML = on ? "&#10073;&#10073;" : "&#9654;";
  if (on) requestAnimationFrame(tick);
}

function tick(now) {
  if (!S.playing) return;
  const fps = S.meta.video.fps || 25;
  const img = image(S.frame);
  if (now - S.lastTick >= 1000 / fps && img.complete) {
    S.lastTick = now;
    if (S.frame >= lastFrame()) { play(false); return; }
    go(S.frame + 1);
  }
  requestAnimationFrame(tick);
}

function onKey(ev) {
  const typing = ev.target.tagName === "INPUT";
  const ctrl = ev.ctrlKey || ev.metaKey;
  if (ctrl && ev.key.toLowerCase() === "s") { ev.preventDefault(); save(); return; }
  if (ctrl && ev.key.toLowerCase() === "z") { ev.preventDefault(); ev.shiftKey ? redo() : undo(); return; }
  if (ctrl && ev.key.toLowerCase() === "y") { ev.preventDefault(); redo(); return; }
  if (typing) {
    if (ev.key === "Enter" && ev.target.id === "frame-input") { go(Number(ev.target.value)); ev.target.blur(); }
    if (ev.key === "Enter" && ev.target.id === "relabel-input") { OPS.relabel(); ev.target.blur(); }
    if (ev.key === "Escape") ev.target.blur();
    return;
  }
  const step = ev.shiftKey ? 10 : 1;
  const keys = {
    " ": () => play(!S.playing), ArrowRight: () => go(S.frame + step), ArrowLeft: () => go(S.frame - step),
    Home: () => go(0), End: () => go(lastFrame()), g: () => $("frame-input").select(),
    s: OPS.swap, m: OPS.merge, x: OPS.split, Delete: OPS.delete, Backspace: OPS.delete,
    r: () => { $("relabel-input").focus(); }, i: () => { S.rangeIn = S.frame; S.rangeOut = null; draw(); },
    o: () => { if (S.rangeIn === null) S.rangeIn = S.frame; S.rangeOut = S.frame; draw(); },
    Escape: () => { S.a = S.b = S.rangeIn = S.rangeOut = null; draw(); },
    n: () => showHint(S.hintAt + 1), p: () => showHint(S.hintAt - 1), f: toggleFollow,
  };
  const action = keys[ev.key] || keys[ev.key.toLowerCase()];
  if (action && !ev.altKey && !ctrl) { ev.preventDefault(); action(); }
}

function onTimelineClick(ev) {
  const cv = $("timeline"), r = cv.getBoundingClientRect();
  const x = ev.clientX - r.left, y = ev.clientY - r.top;
  if (x >= LABEL) go(Math.floor(frameAtX(x, cv.width)));
  const lane = laneAt(y);
  if (lane) select(lane.id, ev.shiftKey);
}

function onWheel(ev) {
  ev.preventDefault();
  const cv = $("timeline"), r = cv.getBoundingClientRect();
  const [v0, v1] = visible(), n = lastFrame() + 1;
  const at = Math.max(v0, Math.min(v1, frameAtX(ev.clientX - r.left, cv.width)));
  const span = Math.max(20, Math.min(n, (v1 - v0) * (ev.deltaY > 0 ? 1.25 : 0.8)));
  let a = at - (at - v0) * span / (v1 - v0);
  a = Math.max(0, Math.min(n - span, a));
  S.zoom = span >= n ? null : [a, a + span];
  drawTimeline();
}

function fitVideo() {                  // the canvas on screen keeps the frame's shape, so clicks map exactly
  const cv = $("video"), box = $("stage");
  const scale = Math.min(box.clientWidth / cv.width, 0.6 * window.innerHeight / cv.height);
  cv.style.width = `${Math.floor(cv.width * scale)}px`;
  cv.style.height = `${Math.floor(cv.height * scale)}px`;
}

function wire() {
  $("video").addEventListener("click", (ev) => { const id = personAt(ev); if (id !== null) select(id, ev.shiftKey); });
  $("video").addEventListener("wheel", onVideoWheel, {passive: false});
  $("timeline").addEventListener("click", onTimelineClick);
  $("timeline").addEventListener("wheel", onWheel, {passive: false});
  document.addEventListener("keydown", onKey);
  const click = {prev: () => go(S.frame - 1), next: () => go(S.frame + 1), prev10: () => go(S.frame - 10),
                 next10: () => go(S.frame + 10), play: () => play(!S.playing), save: save, undo: undo, redo: redo,
                 follow: toggleFollow, swap: OPS.swap, merge: OPS.merge, split: OPS.split, delete: OPS.delete, relabel: OPS.relabel};
  for (const [name, fn] of Object.entries(click)) $(`btn-${name}`).addEventListener("click", () => fn());
  $("frame-input").addEventListener("change", (ev) => go(Number(ev.target.value)));
  window.addEventListener("beforeunload", (ev) => {
    if (JSON.stringify(S.ops) !== S.saved) { ev.preventDefault(); ev.returnValue = ""; }
  });
  window.addEventListener("hashchange", fromHash);
  window.addEventListener("resize", () => { fitVideo(); drawTimeline(); });
}

function fromHash() {
  const m = /frame=(\d+)/.exec(location.hash);
  if (m) go(Number(m[1]));
}

async function start() {
  wire();
  try {
    S.meta = await api("/api/meta");
  } catch (e) {
    status(`cannot load: ${e.message}`, true);
    return;
  }
  const m = S.meta;
  let sum = 0;
  m.counts.forEach((c, pos) => { S.offsets.push(sum); sum += c; S.posOf.set(m.frames[pos], pos); });
  $("video").width = m.video.width; $("video").height = m.video.height;
  fitVideo();
  $("files").textContent = `${m.video.name} \u00b7 ${m.tracks}` + (m.target.endsWith(m.tracks) ? "" : ` \u2192 ${m.target}`);
  $("recorded").textContent = m.recorded ? `(${m.recorded} recorded in the file before)` : "";
  $("frame-input").max = lastFrame();
  if (m.warnings.length) { $("warnings").hidden = false; $("warnings").textContent = "Video and tracks differ: " + m.warnings.join("; "); }
  await refresh([]);
  if (m.frames.length) {                              // the timeline shows the tracked frames first
    const span = [m.frames[0], m.frames[m.frames.length - 1] + 1];
    if (span[1] - span[0] < lastFrame() + 1) S.zoom = span;
  }
  go(m.frames.length ? m.frames[0] : 0);
  fromHash();
  document.body.dataset.ready = "1";
}

start();
