// ta-rules studio: the page. Every action is one POST to /api/<action>, which calls the
// library function of the matching command; this script only shows the answers.
"use strict";
(() => {
  const token = document.querySelector('meta[name="studio-token"]').content;
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, attrs = {}, ...kids) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
    }
    for (const kid of kids) node.append(kid);
    return node;
  };

  async function api(action, body = {}) {
    const res = await fetch(`/api/${action}`, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Studio-Token": token},
      body: JSON.stringify(body),
    });
    const json = (res.headers.get("Content-Type") || "").startsWith("application/json");
    const data = json ? await res.json() : {error: {message: `${res.status} ${res.statusText}`}};
    if (!res.ok) {
      const err = new Error(data.error ? data.error.message : res.statusText);
      err.detail = data.error || {};
      throw err;
    }
    return data;
  }

  function showError(target, err) {
    const lines = [err.message];
    for (const d of err.detail.diagnostics || [])
      lines.push(`${d.file}:${d.line}:${d.column}: ${d.code}: ${d.message}`);
    for (const p of err.detail.problems || []) lines.push(`facts.${p.path}: ${p.message}`);
    target.replaceChildren(el("div", {class: "error-box", text: lines.join("\n")}));
  }

  // --- the editor and its file ------------------------------------------------------------
  const state = {file: null, saved: "", digest: null, diagnostics: [], lastRun: null, places: {},
                 applied: {}};
  // the files opened, each with its text in the editor, as saved, and the saved digest:
  // switching files keeps what is not saved yet
  const buffers = {};
  let checkTimer = null;
  let checkSeq = 0;
  function showDirty(text) {
    $("#dirty").textContent = text === state.saved ? "" : "● unsaved";
    $("#dirty").dataset.state = text === state.saved ? "saved" : "unsaved";
    $("#save").disabled = text === state.saved;
    for (const a of document.querySelectorAll("#files a")) {
      const b = a.dataset.file === state.file ? {text, saved: state.saved}
        : buffers[a.dataset.file];
      a.classList.toggle("dirty", Boolean(b) && b.text !== b.saved);
    }
  }
  const editor = TAEditor.create($("#editor"), {onChange: (text) => {
    showDirty(text);
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, 300);  // debounced: check once typing pauses
  }});
  function unsaved() {
    const texts = {};
    for (const [name, b] of Object.entries(buffers))
      if (name !== state.file && b.text !== b.saved) texts[name] = b.text;
    return texts;
  }
  window.addEventListener("beforeunload", (e) => {
    if (Object.keys(unsaved()).length || editor.getText() !== state.saved) e.preventDefault();
  });

  async function openFile(name, line) {
    if (state.file !== name) {
      if (state.file)
        buffers[state.file] = {text: editor.getText(), saved: state.saved, digest: state.digest};
      let b = buffers[name];
      if (!b) {
        const data = await api("file", {file: name});
        b = {text: data.text, saved: data.text, digest: data.digest};
      }
      state.file = name;
      state.saved = b.saved;
      state.digest = b.digest;
      editor.setText(b.text);
      $("#filename").textContent = name;
      showDirty(b.text);
      for (const a of document.querySelectorAll("#files a"))
        a.classList.toggle("on", a.dataset.file === name);
      await check();
    }
    editor.highlightLines(state.applied[name] || []);
    if (line) editor.goTo(line);
  }

  async function check() {
    if (!state.file) return;
    const seq = ++checkSeq;
    const text = editor.getText();
    $("#check-status").textContent = "checking…";
    try {
      const data = await api("check", {file: state.file, text, others: unsaved()});
      if (seq !== checkSeq) return;  // a newer check is on its way
      showDiagnostics(data.diagnostics);
      showOutline(data.outline);
    } catch (err) {
      if (seq === checkSeq) $("#check-status").textContent = err.message;
    }
  }

  const KINDS = {parameter: "parameters", reason: "reasons", value: "values",
                 function: "functions", group: "groups", rule: "rules"};
  function showOutline(symbols) {
    const parts = [];
    for (const [kind, title] of Object.entries(KINDS)) {
      const mine = symbols.filter((s) => s.kind === kind);
      if (!mine.length) continue;
      parts.push(el("h5", {text: title}), ...mine.map((s) => el("a", {
        "data-kind": kind, "data-name": s.name, "data-line": s.line,
        title: s.detail || s.name, text: s.name,
        onclick: () => editor.goTo(s.line, s.column)})));
    }
    $("#outline").replaceChildren(...parts);
  }

  function showDiagnostics(all) {
    const mine = all.filter((d) => d.file === state.file);
    editor.setDiagnostics(mine.filter((d) => d.line > 0));
    const errors = all.filter((d) => d.severity === "error").length;
    $("#check-status").textContent = all.length === 0 ? "✓ no problems"
      : `${errors} error(s), ${all.length - errors} warning(s)`;
    $("#diagnostics").replaceChildren(...all.map((d) => el("li", {
      class: d.severity, "data-line": d.line, "data-file": d.file, "data-code": d.code,
      onclick: () => d.file && openFile(d.file, d.line)},
      `${d.file}:${d.line}:${d.column}: ${d.code}: ${d.message}`,
      d.hint ? el("span", {class: "hint", text: d.hint}) : "")));
  }

  async function save() {
    const text = editor.getText();
    const file = state.file;
    try {
      const data = await api("save", {file, text, digest: state.digest});
      if (state.file !== file) {  // another file was opened meanwhile
        Object.assign(buffers[file], {saved: text, digest: data.digest});
        showDirty(editor.getText());
        return;
      }
      state.saved = text;
      state.digest = data.digest;
      showDirty(editor.getText());  // typed on while it was saving: still unsaved
      if (editor.getText() === text) $("#dirty").textContent = `saved (${data.bytes} bytes)`;
      showDiagnostics(data.diagnostics);
    } catch (err) {
      $("#dirty").textContent = `not saved: ${err.message}`;
      $("#dirty").dataset.state = "refused";
    }
  }
  $("#save").addEventListener("click", save);
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); save(); }
  });

  // --- tabs -------------------------------------------------------------------------------
  function showTab(name) {
    for (const b of document.querySelectorAll(".tabs button"))
      b.classList.toggle("on", b.dataset.tab === name);
    for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== `tab-${name}`;
  }
  for (const b of document.querySelectorAll(".tabs button"))
    b.addEventListener("click", () => showTab(b.dataset.tab));

  // --- run a claim ------------------------------------------------------------------------
  function claimRequest() {
    const pick = $("#claim").value;
    const locale = $("#locale").value;
    if (pick.startsWith("scenario:")) {
      const [file, name] = JSON.parse(pick.slice(9));
      return {scenario: {file, name}, locale};
    }
    if (pick.startsWith("example:")) return {example: pick.slice(8), locale};
    return {facts_text: $("#facts").value, locale};
  }

  async function runClaim() {
    const out = $("#result");
    $("#whynot").replaceChildren();
    out.replaceChildren(el("div", {text: "judging…"}));
    try {
      const data = await api("run", claimRequest());
      state.lastRun = data;
      if ($("#claim").value !== "paste") $("#facts").value = JSON.stringify(data.facts, null, 2);
      showVerdict(data);
    } catch (err) {
      showError(out, err);
    }
  }

  function ruleLink(rule) {
    const place = state.places[rule];
    if (!place || !place.file) return el("code", {text: rule});
    return el("a", {class: "rule", "data-rule": rule, text: rule,
                    onclick: () => openFile(place.file, place.line)});
  }

  function valueText(values) {
    return Object.entries(values).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join("\n");
  }

  async function showVerdict(data) {
    const v = data.verdict;
    state.places = data.rules;
    state.applied = {};
    for (const t of v.trace || []) {
      const place = data.rules[t.rule];
      if (t.applied && place && place.file)
        (state.applied[place.file] = state.applied[place.file] || []).push(place.line);
    }
    const reasons = el("table", {id: "reasons"}, el("thead", {}, el("tr", {},
      el("th", {text: "code"}), el("th", {text: "kind"}), el("th", {text: "message"}),
      el("th", {text: "rule"}))), el("tbody", {}, ...v.reasons.map((r) => el("tr",
      {"data-code": r.code}, el("td", {}, el("code", {text: r.code})),
      el("td", {text: r.kind}), el("td", {class: "message", text: r.message}),
      el("td", {}, ruleLink(r.rule))))));
    const trace = el("table", {id: "trace"}, el("thead", {}, el("tr", {},
      el("th", {text: "rule"}), el("th", {text: "group"}), el("th", {text: "applied"}),
      el("th", {text: "values read"}))), el("tbody", {}, ...(v.trace || []).map((t) => el(
      "tr", {class: t.applied ? "applied" : "", "data-rule": t.rule,
             "data-applied": t.applied ? "true" : "false"},
      el("td", {}, ruleLink(t.rule), t.subject ? ` [${t.subject}]` : ""),
      el("td", {text: t.group}), el("td", {text: t.applied ? "applies" : "–"}),
      el("td", {class: "mono", style: "white-space: pre-wrap",
                text: valueText(t.values)})))));
    const diffs = data.differences;
    $("#result").replaceChildren(
      el("p", {}, el("span", {class: `outcome ${v.outcome}`, id: "outcome", text: v.outcome}),
         ` max refund ${v.max_refund.amount} ${v.max_refund.currency}`,
         v.coverage_cap ? ` (cap ${v.coverage_cap.amount} ${v.coverage_cap.currency})` : "",
         el("br"), el("span", {class: "note",
            text: `${v.ruleset.name} ${v.ruleset.version} ${v.ruleset.content_hash.slice(0, 19)}`
                  + ` · locale ${v.locale}`})),
      diffs === null ? "" : el("p", {id: "expectation", class: diffs.length ? "fail" : "",
        text: diffs.length ? `expectation NOT met: ${diffs.join("; ")}` : "expectation: met"}),
      el("h4", {text: "Reasons"}), reasons, el("h4", {text: "Trace"}), trace);
    $("#why-not").disabled = !(v.outcome === "denied" || v.outcome === "pending");
    // show the rules that applied in the source: the ruleset's file, its first applied rule
    const first = (v.trace || []).find((t) => t.applied && data.rules[t.rule]
                                        && data.rules[t.rule].file);
    if (first) await openFile(data.rules[first.rule].file, data.rules[first.rule].line);
    else editor.highlightLines(state.applied[state.file] || []);
  }

  async function whyNot() {
    const out = $("#whynot");
    out.replaceChildren(el("div", {text: "searching the fewest changes…"}));
    try {
      const data = await api("why-not", claimRequest());
      if (!data.changes) {
        out.replaceChildren(el("p", {id: "whynot-none", text: `no change of the facts that `
          + `can change makes it covered: ${data.reason || ""}`}));
        return;
      }
      const apply = el("button", {type: "button", id: "apply-changes",
        text: "Apply these changes and run", onclick: async () => {
          $("#claim").value = "paste";
          $("#facts").value = JSON.stringify(data.facts, null, 2);
          await runClaim();
        }});
      out.replaceChildren(el("h4", {text: "Why not covered: the fewest changes"}),
        el("ul", {id: "changes"}, ...data.changes.map((c) => el("li", {"data-path": c.path},
          el("code", {text: c.path}), `: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`))),
        el("p", {text: `then: ${data.verdict.outcome}`}), apply);
    } catch (err) {
      showError(out, err);
    }
  }
  $("#run").addEventListener("click", runClaim);
  $("#why-not").addEventListener("click", whyNot);
  $("#claim").addEventListener("change", () => {
    if ($("#claim").value !== "paste") $("#facts").value = "";
  });
  $("#facts").addEventListener("input", () => { $("#claim").value = "paste"; });

  // --- scenarios --------------------------------------------------------------------------
  let scenarioResults = [];
  function showScenarios() {
    const only = $("#failures-only").checked;
    $("#scenario-table tbody").replaceChildren(...scenarioResults
      .filter((r) => !only || !r.passed).map((r) => el("tr", {
        class: r.passed ? "" : "fail", "data-name": r.name,
        "data-passed": r.passed ? "true" : "false"},
      el("td", {text: r.name}), el("td", {class: "mono", text: `${r.file}:${r.line}`}),
      el("td", {text: r.passed ? "pass" : `FAIL: ${r.error || r.differences.join("; ")}`}),
      el("td", {}, el("button", {type: "button", class: "open", text: "open",
        onclick: () => openScenario(r.file, r.name)})))));
  }
  async function runAll() {
    $("#scenario-summary").textContent = "running…";
    try {
      const data = await api("scenarios", {locale: $("#locale").value});
      scenarioResults = data.results;
      $("#scenario-summary").textContent = data.summary;
      showScenarios();
    } catch (err) {
      showError($("#scenario-summary"), err);
    }
  }
  async function openScenario(file, name) {
    $("#claim").value = "scenario:" + JSON.stringify([file, name]);
    showTab("run");
    await runClaim();
  }
  $("#run-all").addEventListener("click", runAll);
  $("#failures-only").addEventListener("change", showScenarios);

  // --- diff -------------------------------------------------------------------------------
  async function runDiff() {
    const out = $("#diff");
    out.replaceChildren(el("div", {text: "comparing…"}));
    try {
      const data = await api("diff", {base: $("#base").value});
      const parts = [el("p", {class: "note", text: `old: ${data.base}: ${data.old}`}),
                     el("p", {class: "note", text: `new: ${data.new}`})];
      for (const v of data.versions) {
        parts.push(el("h4", {text: `${v.name} ${v.version}`}));
        if (v.only) { parts.push(el("p", {text: `only on the ${v.only} side`})); continue; }
        parts.push(v.changes.length === 0 ? el("p", {text: "no policy differences"})
          : el("ul", {class: "changes"}, ...v.changes.map((c) => el("li", {
            class: c.change, "data-section": c.section, "data-name": c.name,
            text: c.text}))));
        parts.push(el("p", {text: `scenarios whose verdict changes: ${v.scenarios.length}`}));
        parts.push(el("ul", {class: "moved"}, ...v.scenarios.map((s) => el("li", {
          "data-name": s.name}, `${s.name} (${s.location}): ${s.old.outcome} `
          + `${s.old.reasons.join(",")} ${s.old.max_refund} → ${s.new.outcome} `
          + `${s.new.reasons.join(",")} ${s.new.max_refund}`))));
      }
      out.replaceChildren(...parts);
    } catch (err) {
      showError(out, err);
    }
  }
  $("#run-diff").addEventListener("click", runDiff);

  // --- impact -----------------------------------------------------------------------------
  async function runImpact() {
    const frame = $("#impact");
    $("#impact-status").textContent = "judging the history…";
    try {
      const data = await api("impact", {history: $("#history").value,
                                        base: $("#impact-base").value});
      $("#impact-status").textContent =
        `${data.changed} of ${data.claims} claims change; ${data.errors} bad record(s)`;
      frame.src = data.url;
      frame.hidden = false;
    } catch (err) {
      showError($("#impact-status"), err);
    }
  }
  $("#run-impact").addEventListener("click", runImpact);

  // --- start ------------------------------------------------------------------------------
  async function start() {
    const s = await api("state");
    $("#where").textContent = s.where;
    $("#where").title = s.rules;
    $("#base").value = s.base;
    $("#impact-base").value = s.base;
    $("#files").replaceChildren(...s.files.map((f) => el("a", {"data-file": f, text: f,
      onclick: () => openFile(f)})));
    $("#locale").replaceChildren(...s.locales.map((l) => el("option", {value: l, text: l})));
    $("#claim").replaceChildren(
      el("option", {value: "paste", text: "facts pasted below"}),
      el("optgroup", {label: "examples"}, ...s.examples.map((e) => el("option",
        {value: `example:${e}`, text: e}))),
      el("optgroup", {label: "scenarios"}, ...s.scenarios.map((sc) => el("option",
        {value: "scenario:" + JSON.stringify([sc.file, sc.name]),
         text: `${sc.name} (${sc.file})`}))));
    const first = s.files.find((f) => !f.includes("vocabulary")) || s.files[0];
    if (first) await openFile(first);
    document.body.dataset.ready = "true";
  }
  start().catch((err) => showError($("#result"), err));
})();
