// Small behaviours of the dashboard pages, kept in this file (not in hx-on attributes) so the
// Content-Security-Policy can forbid inline script and eval.

// Filter forms (data-drop-empty-params): leave empty fields out of the URL, so links stay short.
document.addEventListener("htmx:configRequest", (event) => {
  if (!event.detail.elt.closest("[data-drop-empty-params]")) return;
  const params = event.detail.parameters;
  for (const key of Reflect.ownKeys(params)) {
    if (params[key] === "") delete params[key];
  }
});

// Lists (data-select-current): the item clicked becomes the current one.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-select-current] a[data-message]");
  if (!link) return;
  const list = link.closest("[data-select-current]");
  list.querySelectorAll("[aria-current]").forEach((item) => item.removeAttribute("aria-current"));
  link.setAttribute("aria-current", "true");
});

// Template editor (data-insert): a variable button puts its text where the cursor was in the last
// field used, and tells HTMX the form changed so the preview follows.
let lastInsertTarget = null;
document.addEventListener("focusin", (event) => {
  if (event.target.matches("[data-insert-target]")) lastInsertTarget = event.target;
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-insert]");
  if (!button) return;
  const field = lastInsertTarget || document.querySelector("[data-insert-target]");
  if (!field) return;
  const text = button.dataset.insert;
  const start = field.selectionStart ?? field.value.length;
  const end = field.selectionEnd ?? start;
  field.value = field.value.slice(0, start) + text + field.value.slice(end);
  field.focus();
  field.setSelectionRange(start + text.length, start + text.length);
  field.dispatchEvent(new Event("input", { bubbles: true }));
});
