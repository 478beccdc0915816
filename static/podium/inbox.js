// Approval inbox: keyboard shortcuts and row selection. Server-side rules stay the
// authority (reasons, double submits); this only saves keystrokes.
(function () {
  "use strict";
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  let current = -1;
  const rows = () => Array.from(document.querySelectorAll("tr.task-row"));
  function focusRow(index) {
    const list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((r, i) => r.classList.toggle("podium-current", i === current));
    list[current].scrollIntoView({ block: "nearest" });
  }
  function click(selector) {
    const el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }
  // Deciding other than the AI needs a reason: say so before the round trip.
  function needsReason(button) {
    const form = button.closest("form");
    const ai = form && form.dataset.aiOutcome;
    const reason = form && form.querySelector("textarea[name=reason]");
    if (ai && button.dataset.outcome !== ai && reason && !reason.value.trim()) {
      reason.classList.add("is-invalid");
      reason.placeholder = "Give a reason: you are deciding other than the AI (" + ai + ")";
      reason.focus();
      return true;
    }
    return false;
  }
  function chooseOutcome(button) {
    if (needsReason(button)) return;
    // A panel swapped in a moment ago may not be wired to htmx yet.
    if (window.htmx) window.htmx.process(button.closest("form"));
    button.click();
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const key = event.key;
    if (key === "?") { click('[data-bs-target="#shortcuts"]'); return; }
    if (key === "/") { const f = document.getElementById("filter-key"); if (f) { event.preventDefault(); f.focus(); } return; }
    if (key === "j") { focusRow(current + 1); return; }
    if (key === "k") { focusRow(current - 1); return; }
    if (key === "x" && current >= 0) { const box = rows()[current].querySelector("input[type=checkbox]"); if (box) box.click(); return; }
    if (key === "Enter" && current >= 0) { window.location = rows()[current].dataset.href; return; }
    if (key === "c") { click("[data-shortcut-claim]"); return; }
    if (key === "n") { click("[data-shortcut-next]"); return; }
    if (key === "u") { click("[data-shortcut-up]"); return; }
    if (key === "e") { const r = document.querySelector("[data-shortcut-reason]"); if (r) { event.preventDefault(); r.focus(); } return; }
    let button = null;
    if (key === "a") button = document.querySelector('[data-outcome="approve"]') || document.querySelector("[data-shortcut='1']");
    else if (key === "r") button = document.querySelector('[data-outcome="reject"]');
    else if (/^[1-9]$/.test(key)) button = document.querySelector("[data-shortcut='" + key + "']");
    if (button) { event.preventDefault(); chooseOutcome(button); }
  });
  document.addEventListener("click", (event) => {
    const outcome = event.target.closest("button[data-outcome]");
    if (outcome && needsReason(outcome)) { event.preventDefault(); return; }
    const all = event.target.closest("[data-select-all]");
    if (all) {
      document.querySelectorAll('#task-rows input[name="task"]').forEach((b) => { b.checked = all.checked; });
      return;
    }
    const row = event.target.closest("tr.task-row");
    if (row && !event.target.closest("a, input, button, label")) window.location = row.dataset.href;
  });
})();
