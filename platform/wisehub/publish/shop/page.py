"""The shop's web page: pick a dataset, set cuts and columns, choose a format, order; follow
the orders, download finished ones, and use any earlier order as a template.

The page is static HTML with a small script that speaks the shop's REST API (with the hub's
XSRF token, so the login cookie alone cannot be used cross-site).

>>> "X-XSRFToken" in html("ada", "t0k", "/services/publish/shop/api")
True
"""

from __future__ import annotations

from html import escape

_SCRIPT = r"""
const API = document.body.dataset.api, XSRF = document.body.dataset.xsrf;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
async function call(path, options = {}) {
  const reply = await fetch(API + path, {...options, credentials: "same-origin",
    headers: {"X-XSRFToken": XSRF, "Content-Type": "application/json"}});
  const data = await reply.json();
  if (!reply.ok) throw new Error(data.message || reply.statusText);
  return data;
}
let dataset = null;
async function loadDatasets() {
  const {datasets} = await call("/datasets");
  $("dataset").innerHTML = datasets.map(d => `<option value="${esc(d.name)}">
    ${esc(d.title)} (${esc(d.name)}, ${esc(d.privilege)})</option>`).join("");
  await loadColumns();
}
async function loadColumns() {
  dataset = await call("/datasets/" + $("dataset").value);
  $("rows").textContent = dataset.rows;
  $("limit").textContent = dataset.max_events;
  $("format").innerHTML = dataset.formats.map(f => `<option>${f}</option>`).join("");
  $("columns").innerHTML = dataset.columns.map(c => `<tr><td><label><input type="checkbox"
    id="keep-${c.name}" checked> ${c.name}</label></td><td>${c.unit}</td>
    <td><input id="min-${c.name}" aria-label="${c.name} min"
      placeholder="${c.min.toPrecision(4)}"></td>
    <td><input id="max-${c.name}" aria-label="${c.name} max"
      placeholder="${c.max.toPrecision(4)}"></td>
    </tr>`).join("");
}
function selection() {
  const cuts = {}, columns = [];
  for (const c of dataset.columns) {
    const lo = $("min-" + c.name).value.trim(), hi = $("max-" + c.name).value.trim();
    if (lo || hi) cuts[c.name] = {min: lo || null, max: hi || null};
    if ($("keep-" + c.name).checked) columns.push(c.name);
  }
  const sample = $("sample").value.trim();
  return {dataset: dataset.name, cuts, columns, format: $("format").value,
          name: $("name").value.trim(), sample: sample ? Number(sample) : null};
}
async function order() {
  $("message").textContent = "";
  try {
    const made = await call("/orders", {method: "POST", body: JSON.stringify(selection())});
    $("message").textContent = `order ${made.id} queued: ${made.events} events`;
  } catch (err) { $("message").textContent = err.message; }
  await loadOrders();
}
async function useTemplate(id) {
  const made = (await call("/orders")).orders.find(o => o.id === id);
  $("dataset").value = made.selection.dataset;
  await loadColumns();
  for (const c of dataset.columns) {
    const cut = made.selection.cuts[c.name] || {};
    $("min-" + c.name).value = cut.min ?? "";
    $("max-" + c.name).value = cut.max ?? "";
    $("keep-" + c.name).checked = !made.selection.columns.length ||
      made.selection.columns.includes(c.name);
  }
  $("format").value = made.selection.format;
  $("name").value = made.selection.name;
  $("sample").value = made.selection.sample ?? "";
  $("message").textContent = `form filled from order ${id}; change it and order again`;
}
async function loadOrders() {
  const {orders} = await call("/orders");
  $("orders").innerHTML = orders.reverse().map(o => `<tr data-id="${o.id}">
    <td>${o.id}</td><td>${esc(o.selection.dataset)}</td><td>${esc(o.summary)}</td>
    <td>${o.events}</td><td class="status">${esc(o.status)}</td>
    <td>${o.progress.stage ? esc(o.progress.stage) + " " +
          Math.round(100 * o.progress.fraction) + "%" : ""}</td>
    <td>${esc(o.template)}</td>
    <td><button type="button" onclick="useTemplate('${o.id}')">Use as template</button>
    ${o.status === "succeeded" ?
      `<a href="${API}/orders/${o.id}/file" download>Download ${esc(o.file)}</a>` : ""}
    </td></tr>`).join("");
}
$("dataset").addEventListener("change", loadColumns);
$("order").addEventListener("click", order);
loadDatasets().then(loadOrders).catch(err => { $("message").textContent = err.message; });
setInterval(loadOrders, 2000);
"""


def html(user: str, xsrf: str, api: str) -> str:
    """The page for ``user``; ``api`` is the REST API's path, ``xsrf`` the hub's token."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wisehub data shop'
        '</title><style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 6px}'
        "</style></head>"
        f'<body data-api="{escape(api)}" data-xsrf="{escape(xsrf)}">'
        f"<h1>Data shop</h1><p>Logged in as <b>{escape(user)}</b>. Pick a dataset, set cuts "
        "(leave a box empty for no cut), keep the columns you need and order: a batch job "
        "writes your file. Times may be given as ISO dates.</p>"
        '<p><label>Dataset <select id="dataset"></select></label> · <span id="rows"></span> '
        'rows · at most <span id="limit"></span> events per order</p>'
        "<table><thead><tr><th>column</th><th>unit</th><th>min</th><th>max</th></tr></thead>"
        '<tbody id="columns"></tbody></table>'
        '<p><label>Random sample of <input id="sample" size="8"> events</label> · '
        '<label>Format <select id="format"></select></label> · '
        '<label>Name <input id="name" size="16"></label> '
        '<button type="button" id="order">Order</button></p>'
        '<p id="message" role="status"></p><h2>My orders</h2>'
        "<table><thead><tr><th>order</th><th>dataset</th><th>selection</th><th>events</th>"
        "<th>status</th><th>progress</th><th>template of</th><th></th></tr></thead>"
        '<tbody id="orders"></tbody></table>'
        f"<script>{_SCRIPT}</script></body></html>")


