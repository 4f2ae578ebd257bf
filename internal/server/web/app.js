// irgen web page: pick or drop an image, search, show the result grid,
// add the image to the collection. Talks to the JSON API of package api.
"use strict";

const $ = (id) => document.getElementById(id);
let current = null;   // the chosen File
let lastAdded = -1;   // id of the image added last, highlighted in results

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", !!isError);
}

async function apiError(resp) {
  try {
    const body = await resp.json();
    return body.error || resp.statusText;
  } catch (e) {
    return resp.status + " " + resp.statusText;
  }
}

async function loadHealth() {
  const resp = await fetch("/healthz");
  if (!resp.ok) throw new Error(await apiError(resp));
  const h = await resp.json();
  $("health").textContent = h.images + " images, " + h.ids + " semantic IDs";
  const sel = $("method");
  const method = sel.value || h.default;
  sel.replaceChildren();
  for (const m of h.methods) {
    const o = document.createElement("option");
    o.value = o.textContent = m;
    o.selected = m === method;
    sel.append(o);
  }
  const labels = $("label");
  const chosen = labels.value;
  labels.replaceChildren(new Option("none", ""));
  (h.classes || []).forEach((c, i) => labels.append(new Option(c, String(i))));
  labels.value = chosen;
}

function choose(file) {
  if (!file) return;
  current = file;
  const img = $("preview");
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  img.hidden = false;
  $("drop-text").textContent = file.name;
  $("add").disabled = false;
  search();
}

async function search() {
  if (!current) return;
  const q = new URLSearchParams({ method: $("method").value, k: $("k").value || "20" });
  const form = new FormData();
  form.append("image", current);
  setStatus("Searching…");
  const resp = await fetch("/v1/search?" + q, { method: "POST", body: form });
  if (!resp.ok) {
    setStatus("Search failed: " + await apiError(resp), true);
    return;
  }
  const r = await resp.json();
  render(r.results);
  setStatus(r.results.length + " results by " + r.method + " in " + r.ms.total.toFixed(1) +
    " ms (encode " + r.ms.encode.toFixed(1) + " ms, search " + r.ms.search.toFixed(1) + " ms)");
}

function render(results) {
  const list = $("results");
  list.replaceChildren();
  $("results-title").hidden = results.length === 0;
  results.forEach((res, i) => {
    const li = document.createElement("li");
    li.className = "result" + (res.id === lastAdded ? " added" : "");
    li.dataset.id = res.id;
    const img = document.createElement("img");
    img.loading = "lazy";
    img.alt = res.key;
    img.src = "/v1/images/" + res.id;
    const meta = document.createElement("div");
    meta.className = "meta";
    const rank = document.createElement("strong");
    rank.textContent = "#" + (i + 1);
    const score = document.createElement("span");
    score.textContent = res.score.toFixed(3);
    score.title = "score";
    meta.append(rank, score);
    const cls = document.createElement("div");
    cls.className = "class";
    cls.textContent = res.class || "unlabelled";
    const key = document.createElement("div");
    key.className = "key";
    key.textContent = res.key;
    key.title = "id " + res.id + ": " + res.key;
    li.append(img, meta, cls, key);
    list.append(li);
  });
}

async function add() {
  if (!current) return;
  const form = new FormData();
  form.append("image", current);
  if ($("label").value !== "") form.append("label", $("label").value);
  $("add").disabled = true;
  setStatus("Adding…");
  // The header makes the request one a page of another origin could
  // only send after a CORS preflight, which this server never grants.
  const resp = await fetch("/v1/images", { method: "POST", body: form, headers: { "X-Irgen-Request": "1" } });
  if (!resp.ok) {
    setStatus("Add failed: " + await apiError(resp), true);
    $("add").disabled = false;
    return;
  }
  const r = await resp.json();
  lastAdded = r.id;
  await loadHealth().catch(() => {});
  await search();
  setStatus("Image added as #" + r.id + " (semantic ID " + r.semid + "). " + $("status").textContent);
}

function init() {
  const drop = $("drop");
  $("file").addEventListener("change", (e) => choose(e.target.files[0]));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    choose(e.dataTransfer.files[0]);
  });
  $("method").addEventListener("change", search);
  $("k").addEventListener("change", search);
  $("add").addEventListener("click", add);
  loadHealth().catch((e) => setStatus("Cannot reach the server: " + e.message, true));
}

init();
