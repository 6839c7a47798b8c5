// ocrflow review: keyboard navigation and field <-> box highlighting. No framework, no network calls.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const typing = (el) => el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA");

  function highlight(name) {
    document.querySelectorAll(".box.active, tr.field.active").forEach((el) => el.classList.remove("active"));
    const box = document.getElementById("box-" + name);
    const row = document.querySelector('tr.field[data-field="' + CSS.escape(name) + '"]');
    if (row) row.classList.add("active");
    if (box) { box.classList.add("active"); box.scrollIntoView({block: "center", behavior: "smooth"}); }
  }

  document.querySelectorAll("tr.field").forEach((row) => {
    row.addEventListener("click", () => highlight(row.dataset.field));
  });
  document.querySelectorAll("tr.field input").forEach((input) => {
    input.addEventListener("focus", () => highlight(input.dataset.field));
  });
  document.querySelectorAll(".box").forEach((box) => {
    box.addEventListener("click", () => {
      const input = document.getElementById("f-" + box.dataset.field);
      if (input) input.focus();
    });
  });

  // The queue: j/k move the selection, Enter opens it.
  const rows = Array.from(document.querySelectorAll("#queue tr.item"));
  let current = rows.length ? 0 : -1;
  function select(i) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, j) => r.classList.toggle("selected", j === current));
  }
  select(0);

  document.addEventListener("keydown", (ev) => {
    const el = document.activeElement;
    if (typing(el)) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && el.form && el.form.id === "approve-form") {
        ev.preventDefault(); el.form.submit();
      } else if (ev.key === "Escape") { el.blur(); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const go = (sel) => { const a = $(sel); if (a) window.location = a.href; };
    if (rows.length) {
      if (ev.key === "j") select(current + 1);
      else if (ev.key === "k") select(current - 1);
      else if (ev.key === "Enter" && current >= 0) window.location = rows[current].dataset.href;
      return;
    }
    if (ev.key === "j") go("#next");
    else if (ev.key === "k") go("#prev");
    else if (ev.key === "a") { const f = $("#approve-form"); if (f) f.submit(); }
    else if (ev.key === "x") { ev.preventDefault(); const r = $("#reject-reason"); if (r) r.focus(); }
    else if (ev.key === "e") {
      ev.preventDefault();
      // the flagged field with the lowest confidence first, else the first field
      const flagged = Array.from(document.querySelectorAll("input[data-flagged]"))
        .sort((p, q) => parseFloat(p.dataset.flagged) - parseFloat(q.dataset.flagged));
      const input = flagged[0] || $("#approve-form input[data-field]");
      if (input) { input.focus(); input.select(); }
    } else if (ev.key === "u") { go("#home"); }
  });
})();
