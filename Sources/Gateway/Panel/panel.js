// Switchboard agent panel: plain JavaScript, no build step. Talks to the gateway's /v1 API and stream.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { session: sessionStorage.getItem("sb.session"), agent: null, tables: {}, table: null, last: null, ws: null,
                lastSeq: Number(sessionStorage.getItem("sb.lastSeq") || 0), lastPopSeq: Number(sessionStorage.getItem("sb.lastPopSeq") || 0),
                retry: 500, seen: new Set() };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

async function api(method, path, body, headers = {}) {
  const h = { ...headers };
  if (state.session) h["Authorization"] = "Bearer " + state.session;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch (_) { data = { error: { code: "bad_json", message: "the gateway's answer is not JSON (HTTP " + res.status + ")" } }; }
  if (res.status === 401 && path !== "/v1/signin") { signOut(); }
  return { status: res.status, data };
}

// ---- Sign-in ----
$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("signin-error").textContent = "";
  const { status, data } = await api("POST", "/v1/signin", { agent: $("agent").value.trim(), token: $("token").value });
  if (status !== 200) { $("signin-error").textContent = data.error ? data.error.message : "sign-in failed"; $("token").focus(); return; }
  state.session = data.session;
  sessionStorage.setItem("sb.session", data.session);
  $("token").value = "";
  await start(data);
});
$("signout").addEventListener("click", async () => { await api("POST", "/v1/signout", {}); signOut(); });

function signOut() {
  state.session = null; sessionStorage.removeItem("sb.session");
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  $("work-view").hidden = true; $("signin-view").hidden = false; $("signout").hidden = true; $("who").textContent = ""; $("stream-state").textContent = "";
}

async function start(me) {
  state.agent = me;
  $("who").textContent = (me.name || me.agent) + " (" + me.agent + ")" + (me.targets && me.targets.length ? " · " + me.targets.join(", ") : "");
  $("signin-view").hidden = true; $("work-view").hidden = false; $("signout").hidden = false;
  const { data } = await api("GET", "/v1/tables");
  const sel = $("table"); sel.innerHTML = "";
  for (const t of data.tables || []) sel.append(el("option", { value: t.name, text: t.name + (t.description ? " — " + t.description.split("\n")[0].slice(0, 60) : "") }));
  await chooseTable(sel.value);
  newCallID();
  connect();
  $("topic").focus();
}

function newCallID() { $("call_id").value = "p-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 6); }

// ---- The form, built from the table ----
$("table").addEventListener("change", () => { clearResult(); chooseTable($("table").value); });
$("topic").addEventListener("change", () => { clearResult(); renderFacts(true); });
$("language").addEventListener("change", () => { for (const s of document.querySelectorAll("select[data-type='bool']")) boolOptions(s); renderFacts(true); });
// Every answer can open or close a branch: ask the gateway again which facts the branch needs.
$("call-form").addEventListener("change", (ev) => {
  const f = ev.target.dataset && ev.target.dataset.field;
  if (ev.target.id === "at" || (f && (f.startsWith("facts.") || f.startsWith("customer.")))) renderFacts(false);
});

function clearResult() { $("result").hidden = true; $("decision").innerHTML = ""; state.lastFacts = {}; }

// Yes and no in the call's language, so the agent reads the form as the caller speaks.
const YES_NO = { ru: ["да", "нет"], es: ["sí", "no"], zh: ["是", "否"], pt: ["sim", "não"], en: ["yes", "no"] };
function boolOptions(select) {
  const [yes, no] = YES_NO[$("language").value] || YES_NO.en;
  const keep = select.value;
  select.innerHTML = "";
  select.append(el("option", { value: "", text: "—" }), el("option", { value: "true", text: yes }), el("option", { value: "false", text: no }));
  select.value = keep;
}

async function chooseTable(name) {
  if (!name) return;
  if (!state.tables[name]) state.tables[name] = (await api("GET", "/v1/tables/" + encodeURIComponent(name))).data;
  state.table = state.tables[name];
  const topic = $("topic"); topic.innerHTML = "";
  for (const t of state.table.topics) topic.append(el("option", { value: t.code, text: t.name + " (" + t.code + ")" }));
  // The table's language by its name's prefix (ru-, es-, cn-, br-), until the agent picks the call's own.
  const lang = { retention: "ru", es: "es", cn: "zh", br: "pt", ru: "ru", pt: "pt", zh: "zh" }[name.split("-")[0]];
  if (lang) $("language").value = lang;
  const c = $("customer"); c.innerHTML = "";
  for (const f of state.table.customer) c.append(fieldInput("customer", f));
  await renderFacts(true);
}

function currentTopic() { return state.table.topics.find((t) => t.code === $("topic").value); }

// The facts shown are those the chosen branch needs (POST /v1/tables/{table}/form): the topic's rules walked in
// order with the answers so far; a fact only behind a branch already ruled out is not shown, and appears when an
// answer opens its branch. Answers already given are kept across a redraw.
let formAsked = 0;
async function renderFacts(fresh) {
  const t = currentTopic();
  const box = $("facts");
  if (!t) { box.innerHTML = ""; return; }
  if (fresh) { box.innerHTML = ""; clearErrors(); }
  const asked = ++formAsked;
  const call = buildCall(null);
  if (!call.call_id) call.call_id = "form";
  const body = { call };
  if ($("at").value.trim()) body.at = $("at").value.trim();
  const { data } = await api("POST", "/v1/tables/" + encodeURIComponent($("table").value) + "/form", body);
  if (asked !== formAsked) return;  // a later answer has asked again
  // The form's own complaint about an answer stands until an answer makes it go (a decide's error stays).
  for (const e of document.querySelectorAll("#call-form .error[data-source='form']")) {
    e.textContent = ""; delete e.dataset.source;
    const input = document.querySelector("[id='" + CSS.escape(e.id.replace(/-error$/, "")) + "']");
    if (input) input.removeAttribute("aria-invalid");
  }
  if (data.error) { showError(data.error, false, "form"); return; }
  const shown = [...box.querySelectorAll("[data-field^='facts.']")].map((e) => e.dataset.field.slice(6));
  const names = data.facts.map((f) => f.name);
  if (fresh || shown.join("\n") !== names.join("\n")) {
    const answers = readGroup("facts");
    const focused = document.activeElement && document.activeElement.id;
    box.innerHTML = "";
    if (!t.facts.length) box.append(el("p", { class: "muted", text: "This topic asks for no facts." }));
    for (const f of data.facts) {
      const field = fieldInput("facts", f);
      const input = field.querySelector("[data-field]");
      if (answers[f.name] !== undefined) input.value = String(answers[f.name]);
      box.append(field);
    }
    if (focused && $(focused)) $(focused).focus();
  }
  for (const e of document.querySelectorAll("#call-form .needed")) e.classList.remove("needed");
  const next = data.next && document.querySelector("[data-field='" + CSS.escape(data.next) + "']");
  if (next) next.closest(".field").classList.add("needed");
  $("facts-state").textContent = data.next ? "Next: " + data.next.replace(/^facts\./, "") : (data.facts.length ? "The answers decide the call." : "");
}

function fieldInput(group, f) {
  const id = group + "." + f.name;
  const wrap = el("div", { class: "field" });
  const label = el("label", { for: id, text: f.name });
  wrap.append(label);
  let input;
  if (f.type === "bool") {
    input = el("select", { id, "data-field": id, "data-type": "bool" });
    boolOptions(input);
  } else if (f.type === "enum") {
    input = el("select", { id, "data-field": id, "data-type": "enum" }, el("option", { value: "", text: "—" }));
    for (const v of f.values) input.append(el("option", { value: v, text: (f.labels && f.labels[v]) ? f.labels[v] + " (" + v + ")" : v }));
  } else {
    input = el("input", { id, "data-field": id, "data-type": f.type, inputmode: f.type === "string" ? "text" : "decimal" });
  }
  if (f.default !== undefined && f.default !== null) input.setAttribute("placeholder", String(f.default));
  wrap.append(input);
  if (f.description) { const d = el("div", { class: "desc", id: id + "-desc", text: f.description }); wrap.append(d); input.setAttribute("aria-describedby", id + "-desc " + id + "-error"); }
  else input.setAttribute("aria-describedby", id + "-error");
  wrap.append(el("div", { class: "error", id: id + "-error", role: "alert" }));
  return wrap;
}

function readGroup(group) {
  const out = {};
  for (const input of document.querySelectorAll("[data-field^='" + group + ".']")) {
    const v = input.value.trim();
    if (v === "") continue;
    const name = input.dataset.field.slice(group.length + 1);
    switch (input.dataset.type) {
      case "bool": out[name] = v === "true"; break;
      case "integer": case "number": out[name] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v; break; // the engine names a bad value
      default: out[name] = v;
    }
  }
  return out;
}

function buildCall(extraFacts) {
  const call = { call_id: $("call_id").value.trim(), topic: $("topic").value };
  if ($("language").value) call.language = $("language").value;
  if ($("identification").value.trim()) call.identification = $("identification").value.trim();
  const customer = readGroup("customer"); if (Object.keys(customer).length) call.customer = customer;
  const facts = { ...readGroup("facts"), ...(extraFacts || {}) }; call.facts = facts;
  if ($("notes").value.trim()) call.notes = $("notes").value.trim();
  return call;
}

function clearErrors() {
  for (const e of document.querySelectorAll("#call-form .error")) e.textContent = "";
  for (const e of document.querySelectorAll("[aria-invalid]")) e.removeAttribute("aria-invalid");
}

function showError(err, focus = true, source = "decide") {
  const field = (err.field || "").replace(/^call\./, "");
  const input = field ? document.querySelector("[data-field='" + CSS.escape(field) + "']") : null;
  if (input) {
    const box = $(input.id + "-error") || $("form-error");
    box.textContent = err.message + " (" + err.code + ")";
    box.dataset.source = source;
    input.setAttribute("aria-invalid", "true");
    if (focus) input.focus();
  } else {
    $("form-error").textContent = (field ? field + ": " : "") + err.message + " (" + err.code + ")";
  }
}

// ---- Deciding ----
$("call-form").addEventListener("submit", async (ev) => { ev.preventDefault(); await send("decide", {}); });

async function send(kind, extra) {
  clearErrors();
  const table = $("table").value;
  const body = { call: buildCall(kind === "decide" ? null : state.lastFacts) };
  if ($("at").value.trim()) body.at = $("at").value.trim();
  Object.assign(body, extra);
  const key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  $("decide").disabled = true;
  try {
    // A retry of the same request (network failure) keeps its key, so the engine never decides twice.
    let res;
    for (let attempt = 0; attempt < 3; attempt++) {
      try { res = await api("POST", "/v1/tables/" + encodeURIComponent(table) + "/" + kind, body, { "Idempotency-Key": key }); break; }
      catch (e) { if (attempt === 2) throw e; await new Promise((r) => setTimeout(r, 300)); }
    }
    if (res.data.error) { showError(res.data.error); return; }
    state.lastFacts = kind === "decide" ? {} : state.lastFacts;
    if (kind === "key") state.lastFacts = { digits: ((state.lastFacts && state.lastFacts.digits) || "") + extra.key };
    renderDecision(res.data);
  } catch (e) {
    $("form-error").textContent = "The gateway did not answer: " + e.message;
  } finally { $("decide").disabled = false; }
}

function hhmm(iso) { const m = /T(\d\d:\d\d)/.exec(iso || ""); return m ? m[1] : iso; }

function copyButton(text) {
  return el("button", { type: "button", class: "secondary copy", "aria-label": "Copy phrase", onclick: async (ev) => {
    try { await navigator.clipboard.writeText(text); } catch (_) {
      const ta = el("textarea"); ta.value = text; document.body.append(ta); ta.select(); document.execCommand("copy"); ta.remove(); }
    ev.target.textContent = "Copied"; setTimeout(() => (ev.target.textContent = "Copy"), 1200);
  }, text: "Copy" });
}

function renderDecision(reply) {
  const d = reply.decision;
  const box = $("decision"); box.innerHTML = "";
  $("result").hidden = false;
  const head = el("p", { class: "action", id: "decision-action", "data-action": d.action });
  const words = { transfer: "Transfer", case: "Open a case", first_line: "Handle on the first line", deny: "Refuse", prompt: "Menu prompt", self_service: "Self-service", step: "Playbook step" };
  head.textContent = (words[d.action] || d.action) + (d.target ? " → " + d.target.id : "") + (d.case ? " → " + d.case.category : "");
  box.append(head);
  if (d.target) {
    box.append(el("p", {}, el("strong", { text: "Target: " }), el("span", { id: "target", text: d.target.id + " · " + d.target.address + " · " + d.target.via + " · " + d.target.mode })));
    box.append(el("p", { class: "open", id: "open-until", text: d.valid_until ? "Open now, until " + hhmm(d.valid_until) + " (" + d.valid_until + ")" : "Open now" }));
    box.append(el("p", { class: "muted", text: "The CTI adapter performs the transfer; this page never does." }));
  } else if (d.valid_until) {
    box.append(el("p", { class: "muted", id: "open-until", text: "Valid until " + d.valid_until }));
  }
  if (d.case) box.append(el("p", { id: "case" }, el("strong", { text: "Case: " }), d.case.category + " · " + d.case.priority + (d.case.subject ? " · " + d.case.subject : "") + (d.case.fields.length ? " · fields: " + d.case.fields.join(", ") : "")));
  if (d.procedure) box.append(el("p", { id: "procedure" }, el("strong", { text: "Procedure: " }), d.procedure));
  if (d.reason) box.append(el("p", { id: "reason" }, el("strong", { text: "Reason: " }), d.reason));
  if (d.phrases && d.phrases.length) {
    box.append(el("h3", { text: "Say verbatim" }));
    const list = el("div", { id: "phrases" });
    for (const p of d.phrases) list.append(el("div", { class: "phrase" }, el("q", { text: p }), copyButton(p)));
    box.append(list);
  }
  if (d.checks && d.checks.length) {
    box.append(el("h3", { text: "Check before the transfer" }));
    const ul = el("ul", { id: "checks" });
    d.checks.forEach((c, i) => ul.append(el("li", {}, el("input", { type: "checkbox", id: "check-" + i, style: "width:auto" }), " ", el("label", { for: "check-" + i, style: "display:inline;font-weight:normal", text: c }))));
    box.append(ul);
  }
  if (d.playbook) {
    const p = d.playbook;
    box.append(el("h3", { text: "Step: " + p.name + " (" + p.step + ")" + (p.limit ? " — attempt " + p.attempt + " of " + p.limit : "") + (p.done ? " — done" : "") }));
    const ol = el("ol", { id: "playbook-do" }); for (const x of p.do) ol.append(el("li", { text: x })); box.append(ol);
    if (!p.done && p.outcomes.length) {
      const row = el("div", { id: "outcomes", role: "group", "aria-label": "Outcomes" });
      for (const o of p.outcomes) row.append(el("button", { type: "button", class: "outcome", "data-outcome": o, text: o,
        onclick: () => send("outcome", { step: p.step, outcome: o }) }), " ");
      box.append(row);
    }
    if (p.done) box.append(el("p", { id: "playbook-done", class: "open", text: "Playbook finished." }));
  }
  if (d.menu) {
    const m = d.menu;
    box.append(el("p", { id: "menu-prompt" }, el("strong", { text: "Prompt (" + m.language + "): " }), m.prompt || ""));
    const row = el("div", { id: "menu-options", role: "group", "aria-label": "Menu keys" });
    for (const o of m.options) row.append(el("button", { type: "button", class: "menu-key", "data-key": o.key, text: o.key + " — " + o.label, onclick: () => send("key", { key: o.key }) }), " ");
    box.append(row);
    if (m.asks && m.asks.length) box.append(el("p", { text: "Asks for: " + m.asks.join(", ") }));
  }
  box.append(el("h3", { text: "Comment that will be stored" }));
  box.append(el("div", { class: "comment", id: "comment", text: d.comment }));
  box.append(el("details", {}, el("summary", { text: "Why (trace) · rule " + d.rule + " · seq " + reply.seq }), el("ul", { class: "trace" }, ...d.trace.map((t) => el("li", { text: t })))));
  if (d.playbook) state.lastFacts = Object.fromEntries(Object.entries(readGroup("facts")));
  $("result-h").focus && $("result-h").setAttribute("tabindex", "-1");
  $("result-h").focus();
}

// ---- The agent's stream: calls transferred to this agent pop up; resumes by seq ----
function connect() {
  if (!state.session) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + "/v1/stream?access_token=" + encodeURIComponent(state.session) + "&after=" + state.lastSeq + "&pops_after=" + state.lastPopSeq);
  state.ws = ws;
  $("stream-state").textContent = "connecting…";
  ws.onopen = () => { $("stream-state").textContent = "live"; state.retry = 500; };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === "hello") return;
    // Pops and decisions each resume from their own seq: a pop waits for the CTI adapter, so it can follow a later decision.
    const cursor = m.type === "pop" ? "lastPopSeq" : "lastSeq";
    if (m.seq <= state[cursor] && state.seen.has(m.type + m.seq)) return;
    state.seen.add(m.type + m.seq);
    state[cursor] = Math.max(state[cursor], m.seq);
    sessionStorage.setItem("sb." + cursor, String(state[cursor]));
    if (m.type === "pop") showPop(m);
  };
  ws.onclose = () => {
    $("stream-state").textContent = "reconnecting…";
    if (!state.session) return;
    setTimeout(connect, state.retry); state.retry = Math.min(state.retry * 2, 10000);
  };
}

function showPop(m) {
  $("no-pops").hidden = true;
  const d = m.decision;
  const item = el("li", { class: "pop", "data-call": m.call_id, "data-seq": String(m.seq) },
    el("strong", { text: "Call " + m.call_id + " transferred to " + (d.target ? d.target.id : "you") + " · " + (m.topic || "") + " · " + (m.language || "") }),
    el("p", {}, el("strong", { text: "Identification: " }), el("span", { class: "pop-identification", text: m.identification || "—" })),
    el("div", { class: "comment pop-comment", text: d.comment }),
    el("details", { open: "" }, el("summary", { text: "First line's trace" }), el("ul", { class: "trace" }, ...d.trace.map((t) => el("li", { text: t })))));
  $("pop-list").prepend(item);
}

// ---- Resume a session kept in this tab ----
(async () => {
  if (!state.session) return;
  const { status, data } = await api("GET", "/v1/me");
  if (status === 200) await start(data); else signOut();
})();
