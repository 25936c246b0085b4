// The partner portal: sign in with the API key (kept in sessionStorage for this tab only),
// upload an extract with progress, read its report, withdraw an upload. Every value from
// the server is written with textContent, never as HTML. Every text is the page's language's,
// from the JSON block the page carries (api/templates/partner_strings.yaml).
(() => {
  "use strict";
  const KEY = "ctcollab.apiKey";
  const OPEN = ["received", "parsed"];
  const $ = (id) => document.getElementById(id);
  const root = $("portal-root");
  if (!root) return;
  const TEXTS = JSON.parse($("portal-strings").textContent);
  const LANG = document.documentElement.lang || undefined;
  // A text of the catalogue with its {name} slots filled in.
  const t = (key, values) => String(TEXTS.script[key]).replace(
    /\{(\w+)\}/g, (slot, name) => (values && name in values ? String(values[name]) : slot));
  // A code's entry in one of the catalogue's maps (status, reasons, errors), else null.
  const known = (map, code) => (Object.hasOwn(TEXTS[map], code) ? TEXTS[map][code] : null);
  const statusName = (code) => known("status", code) || code;
  const maxBytes = Number(root.dataset.maxBytes);

  const key = () => sessionStorage.getItem(KEY);
  const el = (tag, text, attrs) => {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  };
  const problemText = (body, fallback) => {
    if (!body) return fallback;
    // The server's problem: its title in this language when the catalogue has its code, and
    // its detail (the server's own words).
    const code = String(body.type || "").split("/").pop();
    const title = known("errors", code) || body.title;
    let text = body.detail ? t("problem", { title: title || "", detail: body.detail })
                           : title || fallback;
    if (body.hint) text += t("hint", { hint: body.hint });
    return text;
  };

  async function api(path, options) {
    const opts = Object.assign({}, options || {});
    opts.headers = Object.assign({ Authorization: "Bearer " + key() }, opts.headers || {});
    const response = await fetch(path, opts);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (response.status === 401) signOut(t("key_not_accepted"));
    return { status: response.status, ok: response.ok, body };
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    $("portal").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = message || "";
  }

  async function signIn(candidate) {
    sessionStorage.setItem(KEY, candidate);
    const r = await api("/api/v1/organisation");
    if (!r.ok) {
      signOut(r.status === 401 ? t("key_unknown") : problemText(r.body, t("signin_failed")));
      return;
    }
    $("org-name").textContent = r.body.name;
    $("signin").hidden = true;
    $("portal").hidden = false;
    $("signin-error").textContent = "";
    await refresh();
  }

  async function refresh() {
    const r = await api("/api/v1/uploads?limit=100");
    if (!r.ok) return;
    const tbody = $("uploads").querySelector("tbody");
    tbody.replaceChildren();
    $("no-uploads").hidden = r.body.uploads.length > 0;
    for (const u of r.body.uploads) tbody.append(uploadRow(u));
  }

  function uploadRow(u) {
    const tr = el("tr", null, { "data-upload-id": String(u.id) });
    tr.append(el("td", u.id), el("td", u.filename),
              el("td", statusName(u.status), { class: "status status-" + u.status }),
              el("td", u.rows_accepted === null ? t("none") : u.rows_accepted, { class: "num" }),
              el("td", new Date(u.created_at).toLocaleString(LANG)));
    const actions = el("td");
    const view = el("button", t("report_button"), { type: "button", class: "link" });
    view.addEventListener("click", () => showReport(u));
    actions.append(view);
    if (u.status !== "withdrawn") {
      const withdraw = el("button", t("withdraw_button"), { type: "button", class: "link danger" });
      withdraw.addEventListener("click", () => confirmWithdraw(u, actions));
      actions.append(" ", withdraw);
    }
    tr.append(actions);
    return tr;
  }

  function confirmWithdraw(u, cell) {
    const box = el("div", null, { class: "confirm", role: "group",
                                  "aria-label": t("confirm_label") });
    box.append(el("p", t("confirm_question", { file: u.filename })));
    const yes = el("button", t("confirm_button"), { type: "button", class: "danger" });
    const no = el("button", t("cancel_button"), { type: "button" });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      const r = await api("/api/v1/uploads/" + u.id, { method: "DELETE" });
      $("withdraw-status").textContent = r.ok
        ? t("withdrawn", { file: u.filename, cases: r.body.cases_removed })
        : problemText(r.body, t("withdraw_failed"));
      await refresh();
      if (r.ok) showReport(r.body.upload);
    });
    no.addEventListener("click", () => box.remove());
    box.append(yes, " ", no);
    cell.append(box);
    yes.focus();
  }

  function table(caption, headers, rows) {
    const t = el("table");
    t.append(el("caption", caption));
    const head = el("tr");
    for (const h of headers) head.append(el("th", h, { scope: "col" }));
    const thead = el("thead");
    thead.append(head);
    t.append(thead);
    const body = el("tbody");
    for (const row of rows) {
      const tr = el("tr");
      for (const cell of row) tr.append(el("td", cell));
      body.append(tr);
    }
    t.append(body);
    return t;
  }

  function showReport(u) {
    const section = $("report");
    const out = $("report-body");
    out.replaceChildren();
    $("report-h").textContent = t("report_title", { file: u.filename, id: u.id });
    out.append(el("p", t("report_status", { status: statusName(u.status) }),
                  { class: "report-status" }));
    const r = u.report || {};
    if (r.error) {
      const title = known("errors", r.error.code) || r.error.title;
      out.append(el("p", t("error_line", { title, detail: r.error.detail }), { class: "error" }));
    }
    if (u.rows_read !== null && u.status !== "rejected") {
      out.append(el("p", t("summary", { read: u.rows_read, accepted: u.rows_accepted ?? 0,
                                        quarantined: u.rows_quarantined ?? 0 })
                    + (u.mapping_version ? t("summary_mapping", { version: u.mapping_version })
                                         : t("summary_end")),
                    { class: "summary" }));
    }
    const reasons = Object.entries(r.quarantined_by_reason || {});
    if (reasons.length) {
      out.append(table(t("reasons_caption"), [t("col_reason"), t("col_code"), t("col_rows")],
                       reasons.map(([code, n]) => [known("reasons", code) || code, code, n])));
    }
    if ((r.columns_dropped || []).length) {
      out.append(el("p", t("columns_dropped", { columns: r.columns_dropped.join(", ") })));
    }
    for (const note of r.notes || []) out.append(el("p", note, { class: "note" }));
    const fields = Object.entries(r.fields || {});
    if (fields.length) {
      out.append(table(t("coverage_caption"), [t("col_field"), t("col_mapped"), t("col_unknown"),
                                               t("col_not_supplied"), t("col_unrecognised")],
        fields.map(([name, c]) => [name, c.mapped_pct, c.unknown_pct, c.not_supplied_pct,
          Object.entries(c.unmapped_values || {}).map(([v, n]) => v + " (" + n + ")").join(", ")])));
    }
    const rows = (r.quarantine || []).slice(0, 50);
    if (rows.length) {
      out.append(table(t("first_rows_caption"), [t("col_row"), t("col_field"), t("col_reason")],
                       rows.map((q) => [q.row, q.field, q.reason])));
    }
    section.hidden = false;
    section.focus();
  }

  async function poll(id) {
    for (let i = 0; i < 300; i += 1) {
      const r = await api("/api/v1/uploads/" + id);
      if (!r.ok) return null;
      if (!OPEN.includes(r.body.status)) return r.body;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    return null;
  }

  function upload(file) {
    const status = $("upload-status");
    const progress = $("progress");
    if (file.size > maxBytes) {
      status.textContent = t("too_large");
      return;
    }
    const form = new FormData();
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/uploads");
    xhr.setRequestHeader("Authorization", "Bearer " + key());
    progress.hidden = false;
    progress.value = 0;
    $("upload-button").disabled = true;
    status.textContent = t("uploading", { file: file.name });
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) progress.value = Math.round((100 * e.loaded) / e.total);
    });
    xhr.addEventListener("loadend", async () => {
      $("upload-button").disabled = false;
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status === 202 || xhr.status === 200) {
        progress.value = 100;
        status.textContent = xhr.status === 200
          ? t("already_uploaded", { id: body.id })
          : t("received", { id: body.id });
        await refresh();
        const done = await poll(body.id);
        if (done) {
          status.textContent = t("upload_done", { id: done.id, status: statusName(done.status) });
          showReport(done);
        }
        await refresh();
      } else if (xhr.status === 401) {
        signOut(t("key_not_accepted"));
      } else {
        status.textContent = t("not_accepted", {
          problem: problemText(body, t("upload_failed", { status: xhr.status })) });
      }
    });
    xhr.send(form);
  }

  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("api-key").value.trim();
    $("api-key").value = "";
    if (value) signIn(value);
  });
  $("signout").addEventListener("click", () => signOut(t("signed_out")));
  $("upload-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const file = $("file").files[0];
    if (file) upload(file);
  });
  if (key()) signIn(key());
})();
