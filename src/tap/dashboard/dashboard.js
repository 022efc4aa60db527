// lmesh dashboard: lmesh-tap's /v1/stat and /v1/tap (src/tap/README.md) drawn as tables.
// Everything from the API goes into the page as text (textContent), never as markup.
"use strict";

const REFRESH_MS = 2000;
const TAP_ROWS = 200;  // the newest requests kept on screen
const TAP_MAX_RPS = 50;

const state = {
  namespace: "default",
  window: "1m",
  tap: null,  // {target, namespace, controller, requests: Map (oldest first), top: Map}
};

const $ = (id) => document.getElementById(id);

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fixed(value, digits) {
  return value === null || value === undefined ? "-" : Number(value).toFixed(digits);
}

function percent(rate) {
  return rate === null || rate === undefined ? "-" : (rate * 100).toFixed(2) + "%";
}

function rateClass(rate) {
  if (rate === null || rate === undefined) return "num";
  return rate >= 0.99 ? "num good" : rate < 0.95 ? "num bad" : "num";
}

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("ns")) state.namespace = params.get("ns");
  if (params.get("window")) state.window = params.get("window");
  return params.get("tap");
}

function writeHash() {
  const params = new URLSearchParams({ns: state.namespace, window: state.window});
  if (state.tap) params.set("tap", state.tap.target.replace(/^deploy\//, ""));
  history.replaceState(null, "", "#" + params.toString());
}

async function stat(query) {
  const resp = await fetch("/v1/stat?" + new URLSearchParams(query), {cache: "no-store"});
  const body = await resp.json().catch(() => ({}));
  if (resp.status === 404) return {rows: []};  // nothing meshed there (yet)
  if (!resp.ok) throw new Error(`/v1/stat: ${resp.status} ${body.error || ""} ${body.detail || ""}`);
  return body;
}

function statCells(tr, row) {
  tr.append(cell(row.meshed, "num"), cell(percent(row.success_rate), rateClass(row.success_rate)),
            cell(fixed(row.rps, 1), "num"), cell(fixed(row.latency_ms_p50, 1), "num"),
            cell(fixed(row.latency_ms_p95, 1), "num"), cell(fixed(row.latency_ms_p99, 1), "num"),
            cell(row.tcp_connections ?? "-", "num"));
}

function drawNamespaces(rows) {
  const body = $("namespaces").tBodies[0];
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement("tr");
    tr.dataset.name = row.name;
    tr.className = "clickable" + (row.name === state.namespace ? " selected" : "");
    tr.append(cell(row.name));
    statCells(tr, row);
    tr.addEventListener("click", () => {
      state.namespace = row.name;
      writeHash();
      refresh();
    });
    body.append(tr);
  }
}

function drawDeployments(rows) {
  $("namespace-name").textContent = state.namespace;
  const body = $("deployments").tBodies[0];
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("no meshed deployments in this namespace");
    td.colSpan = 9;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const row of rows) {
    const target = "deploy/" + row.name;
    const tr = document.createElement("tr");
    tr.dataset.name = row.name;
    const tapping = state.tap && state.tap.target === target && state.tap.namespace === state.namespace;
    if (tapping) tr.className = "selected";
    tr.append(cell(row.name));
    statCells(tr, row);
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = tapping ? "tapping" : "tap";
    button.addEventListener("click", () => startTap(target, state.namespace));
    td.append(button);
    tr.append(td);
    body.append(tr);
  }
}

async function refresh() {
  try {
    const [namespaces, deployments] = await Promise.all([
      stat({target: "ns", window: state.window}),
      stat({target: "deploy", namespace: state.namespace, window: state.window}),
    ]);
    drawNamespaces(namespaces.rows);
    drawDeployments(deployments.rows);
    const span = deployments.window_s ?? namespaces.window_s;
    setStatus(`updated ${new Date().toLocaleTimeString()} · window ${span == null ? "-" : Math.round(span)} s`);
  } catch (err) {
    setStatus(`lmesh-tap unreachable: ${err.message}`, true);
  }
}

// ---- live tap

function stopTap() {
  if (!state.tap) return;
  state.tap.controller.abort();
  state.tap = null;
  $("tap-stop").hidden = true;
  writeHash();
}

async function startTap(target, namespace) {
  stopTap();
  const tap = {target, namespace, controller: new AbortController(), requests: new Map(),
               top: new Map()};
  state.tap = tap;
  $("tap-target").textContent = `${target} in ${namespace}`;
  $("tap-note").textContent = "waiting for requests…";
  $("tap-stop").hidden = false;
  $("tap").tBodies[0].replaceChildren();
  $("top").tBodies[0].replaceChildren();
  writeHash();
  refresh();
  const query = new URLSearchParams({target, namespace, max_rps: TAP_MAX_RPS});
  try {
    const resp = await fetch("/v1/tap?" + query, {signal: tap.controller.signal, cache: "no-store"});
    if (!resp.ok) {
      const body = await resp.json().catch(() => ({}));
      throw new Error(`${resp.status} ${body.error || ""} ${body.detail || ""}`);
    }
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      pending += decoder.decode(value, {stream: true});
      const lines = pending.split("\n");
      pending = lines.pop();
      for (const line of lines) {
        if (line.trim() !== "") onTapEvent(tap, JSON.parse(line));
      }
    }
    if (state.tap === tap) $("tap-note").textContent = "the tap ended: no proxy is left to stream from";
  } catch (err) {
    if (err.name !== "AbortError" && state.tap === tap) $("tap-note").textContent = `tap failed: ${err.message}`;
  }
}

function onTapEvent(tap, event) {
  if (state.tap !== tap) return;
  // Request ids are unique per proxy, so the pod is part of the key.
  const key = (event.proxy ? event.proxy.pod : "") + "/" + event.id;
  if (event.kind === "request_init") {
    const request = {event, status: null, latency_ms: null, error: "", tr: null};
    tap.requests.set(key, request);
    // A Map iterates in insertion order: its first key is the oldest request on screen.
    if (tap.requests.size > TAP_ROWS) tap.requests.delete(tap.requests.keys().next().value);
    drawTapRow(request);
    $("tap-note").textContent = "";
  } else if (event.kind === "response_init") {
    const request = tap.requests.get(key);
    if (!request) return;
    request.status = event.status;
    request.latency_ms = event.latency_us / 1000;
    drawTapRow(request);
  } else if (event.kind === "response_end") {
    const request = tap.requests.get(key);
    if (!request) return;
    request.error = event.error || event.reset || "";
    const grpcFailed = event.grpc_status !== undefined && event.grpc_status !== 0;
    countTop(tap, request, !request.error && !grpcFailed && request.status !== null && request.status < 500);
    drawTapRow(request);
  } else if (event.kind === "proxy_error") {
    $("tap-note").textContent = `${event.proxy ? event.proxy.pod : "a proxy"}: ${event.error}`;
  }
}

function drawTapRow(request) {
  const e = request.event;
  const tr = document.createElement("tr");
  const failed = request.error || (request.status !== null && request.status >= 500);
  tr.className = failed ? "bad" : "";
  tr.dataset.path = e.path;
  tr.append(cell(new Date(e.ts_us / 1000).toLocaleTimeString()), cell(e.proxy ? e.proxy.pod : ""),
            cell(e.direction === "inbound" ? "in" : "out"), cell(e.source), cell(e.destination),
            cell(e.tls), cell(e.method), cell(e.authority), cell(e.path),
            cell(request.error || (request.status ?? "…")), cell(fixed(request.latency_ms, 2), "num"));
  const body = $("tap").tBodies[0];
  if (request.tr && request.tr.parentNode === body) {
    body.replaceChild(tr, request.tr);
  } else {
    body.prepend(tr);
    while (body.rows.length > TAP_ROWS) body.deleteRow(-1);
  }
  request.tr = tr;
}

function countTop(tap, request, ok) {
  const path = request.event.path;
  const t = tap.top.get(path) || {count: 0, ok: 0, best: Infinity, worst: 0, last: null};
  t.count += 1;
  if (ok) t.ok += 1;
  if (request.latency_ms !== null) {
    t.best = Math.min(t.best, request.latency_ms);
    t.worst = Math.max(t.worst, request.latency_ms);
    t.last = request.latency_ms;
  }
  tap.top.set(path, t);
  const body = $("top").tBodies[0];
  body.replaceChildren();
  const sorted = [...tap.top.entries()].sort((a, b) => b[1].count - a[1].count).slice(0, 20);
  for (const [p, s] of sorted) {
    const tr = document.createElement("tr");
    tr.dataset.path = p;
    tr.append(cell(p), cell(s.count, "num"), cell(percent(s.ok / s.count), rateClass(s.ok / s.count)),
              cell(fixed(s.best === Infinity ? null : s.best, 2), "num"), cell(fixed(s.worst, 2), "num"),
              cell(fixed(s.last, 2), "num"));
    body.append(tr);
  }
}

// ---- start

document.addEventListener("DOMContentLoaded", () => {
  const tapName = readHash();
  $("window").value = state.window;
  $("window").addEventListener("change", (e) => {
    state.window = e.target.value;
    writeHash();
    refresh();
  });
  $("tap-stop").addEventListener("click", () => {
    stopTap();
    $("tap-note").textContent = "stopped";
    refresh();
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
  if (tapName) startTap("deploy/" + tapName, state.namespace);
});
