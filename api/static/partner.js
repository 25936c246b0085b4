// The partner portal: sign in with the API key (kept in sessionStorage for this tab only),
// upload an extract with progress, read its report, withdraw an upload. Every value from
// the server is written with textContent, never as HTML.
(() => {
  "use strict";
  const KEY = "ctcollab.apiKey";
  const OPEN = ["received", "parsed"];
  const STATUS = {
    received: "Received", parsed: "Processing…", harmonised: "Harmonised",
    rejected: "Rejected", failed: "Failed (a problem on our side)", withdrawn: "Withdrawn",
  };
  const $ = (id) => document.getElementById(id);
  const root = $("portal-root");
  if (!root) return;
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
    let text = body.detail || body.title || fallback;
    if (body.hint) text += " (" + body.hint + ")";
    return text;
  };

  async function api(path, options) {
    const opts = Object.assign({}, options || {});
    opts.headers = Object.assign({ Authorization: "Bearer " + key() }, opts.headers || {});
    const response = await fetch(path, opts);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (response.status === 401) signOut("Your key was not accepted; sign in again.");
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
      signOut(r.status === 401 ? "This key is unknown or has been revoked."
                               : problemText(r.body, "Sign-in failed."));
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
              el("td", STATUS[u.status] || u.status, { class: "status status-" + u.status }),
              el("td", u.rows_accepted === null ? "–" : u.rows_accepted, { class: "num" }),
              el("td", new Date(u.created_at).toLocaleString()));
    const actions = el("td");
    const view = el("button", "Report", { type: "button", class: "link" });
    view.addEventListener("click", () => showReport(u));
    actions.append(view);
    if (u.status !== "withdrawn") {
      const withdraw = el("button", "Withdraw", { type: "button", class: "link danger" });
      withdraw.addEventListener("click", () => confirmWithdraw(u, actions));
      actions.append(" ", withdraw);
    }
    tr.append(actions);
    return tr;
  }

  function confirmWithdraw(u, cell) {
    const box = el("div", null, { class: "confirm", role: "group",
                                  "aria-label": "Confirm withdrawal" });
    box.append(el("p", "Withdraw " + u.filename + "? Its cases leave the next release."));
    const yes = el("button", "Confirm withdrawal", { type: "button", class: "danger" });
    const no = el("button", "Cancel", { type: "button" });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      const r = await api("/api/v1/uploads/" + u.id, { method: "DELETE" });
      $("withdraw-status").textContent = r.ok
        ? "Withdrawn: " + u.filename + " (" + r.body.cases_removed + " cases removed)."
        : problemText(r.body, "The upload could not be withdrawn.");
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
    $("report-h").textContent = "Report: " + u.filename + " (#" + u.id + ")";
    out.append(el("p", "Status: " + (STATUS[u.status] || u.status), { class: "report-status" }));
    const r = u.report || {};
    if (r.error) {
      out.append(el("p", r.error.title + ": " + r.error.detail, { class: "error" }));
    }
    if (u.rows_read !== null && u.status !== "rejected") {
      out.append(el("p", u.rows_read + " rows read, " + (u.rows_accepted ?? 0) + " accepted, "
                    + (u.rows_quarantined ?? 0) + " quarantined"
                    + (u.mapping_version ? " (mapping " + u.mapping_version + ")." : "."),
                    { class: "summary" }));
    }
    const reasons = Object.entries(r.quarantined_by_reason || {});
    if (reasons.length) out.append(table("Rows set aside, by reason", ["Reason", "Rows"], reasons));
    if ((r.columns_dropped || []).length) {
      out.append(el("p", "Columns not used (not in your mapping): " + r.columns_dropped.join(", ")));
    }
    for (const note of r.notes || []) out.append(el("p", note, { class: "note" }));
    const fields = Object.entries(r.fields || {});
    if (fields.length) {
      out.append(table("Coverage of each field", ["Field", "Mapped %", "Unknown %",
                                                  "Not supplied %", "Values not recognised"],
        fields.map(([name, c]) => [name, c.mapped_pct, c.unknown_pct, c.not_supplied_pct,
          Object.entries(c.unmapped_values || {}).map(([v, n]) => v + " (" + n + ")").join(", ")])));
    }
    const rows = (r.quarantine || []).slice(0, 50);
    if (rows.length) {
      out.append(table("First rows set aside", ["Row", "Field", "Reason"],
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
      status.textContent = "This file is larger than the limit; split it or save it as .xlsx.";
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
    status.textContent = "Uploading " + file.name + "…";
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
          ? "This file was already uploaded (#" + body.id + ")."
          : "Received (#" + body.id + "); harmonising…";
        await refresh();
        const done = await poll(body.id);
        if (done) {
          status.textContent = "Upload #" + done.id + ": " + (STATUS[done.status] || done.status) + ".";
          showReport(done);
        }
        await refresh();
      } else if (xhr.status === 401) {
        signOut("Your key was not accepted; sign in again.");
      } else {
        status.textContent = "Not accepted: " + problemText(body, "the upload failed (HTTP " + xhr.status + ").");
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
  $("signout").addEventListener("click", () => signOut("Signed out."));
  $("upload-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const file = $("file").files[0];
    if (file) upload(file);
  });
  if (key()) signIn(key());
})();
