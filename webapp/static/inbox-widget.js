/*
 * NotifyHub in-app inbox widget. No dependencies; styles live in a shadow root.
 *
 * <script src="https://notify.example.com/static/inbox-widget.js"
 *         data-store="acme" data-customer="42" data-token="42.1767225600.<hmac>"
 *         data-api="https://notify.example.com" defer></script>
 *
 * Optional: data-target="#css-selector" mounts the bell inside that element instead of a
 * floating button in the bottom-right corner; data-poll="60" sets the refresh interval (seconds).
 * Message titles and bodies are only ever set as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector('script[src*="inbox-widget"][data-store][data-customer][data-token]');
  if (!script) { return; }
  var cfg = {
    store: script.getAttribute("data-store") || "",
    customer: script.getAttribute("data-customer") || "",
    token: script.getAttribute("data-token") || "",
    api: (script.getAttribute("data-api") || new URL(script.src, location.href).origin).replace(/\/+$/, ""),
    target: script.getAttribute("data-target"),
    poll: Math.max(15, parseInt(script.getAttribute("data-poll") || "60", 10) || 60) * 1000
  };
  if (!cfg.store || !/^[0-9]+$/.test(cfg.customer) || !cfg.token) {
    if (window.console) { console.warn("NotifyHub inbox: data-store, data-customer and data-token are required"); }
    return;
  }

  var base = cfg.api + "/api/v1/customers/" + encodeURIComponent(cfg.customer) + "/inbox";
  var state = { messages: [], unread: 0, nextBefore: null, open: false, stopped: false, loading: false,
    loaded: false, errored: false };
  var uid = "nh-inbox-" + Math.random().toString(36).slice(2, 8);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function call(method, url) {
    return fetch(url, {
      method: method,
      headers: { "Authorization": "Bearer " + cfg.token, "X-Store": cfg.store },
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = new Error(body.error || ("HTTP " + response.status));
          error.status = response.status;
          throw error;
        }
        return body;
      });
    });
  }

  // --- DOM ------------------------------------------------------------------------------------
  var host = el("div", { "data-notifyhub-inbox": "" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = el("style");
  style.textContent = [
    ":host{all:initial;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328}",
    ".wrap{position:relative;display:inline-block}",
    ".wrap.floating{position:fixed;right:20px;bottom:20px;z-index:2147483000}",
    "button{font:inherit;cursor:pointer}",
    ".bell{position:relative;width:44px;height:44px;border-radius:50%;border:1px solid #d0d7de;",
    "background:#fff;color:#1f2328;display:flex;align-items:center;justify-content:center;",
    "box-shadow:0 1px 3px rgba(0,0,0,.15)}",
    ".bell:focus-visible,.panel button:focus-visible,.panel:focus-visible{outline:3px solid #0969da;outline-offset:2px}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:18px;height:18px;padding:0 5px;box-sizing:border-box;",
    "border-radius:9px;background:#cf222e;color:#fff;font-size:11px;font-weight:600;line-height:18px;text-align:center}",
    "[hidden]{display:none!important}",
    ".panel{position:absolute;right:0;bottom:52px;width:340px;max-width:calc(100vw - 40px);max-height:70vh;",
    "display:flex;flex-direction:column;background:#fff;border:1px solid #d0d7de;border-radius:8px;",
    "box-shadow:0 8px 24px rgba(0,0,0,.2);overflow:hidden}",
    ".wrap:not(.floating) .panel{bottom:auto;top:52px}",
    ".head{display:flex;align-items:center;justify-content:space-between;padding:10px 12px;border-bottom:1px solid #d0d7de}",
    "h2{font-size:15px;margin:0}",
    ".link{background:none;border:0;color:#0969da;padding:4px}",
    ".link:disabled{color:#8c959f;cursor:default}",
    "ul{list-style:none;margin:0;padding:0;overflow-y:auto}",
    "li{padding:10px 12px;border-bottom:1px solid #eaeef2}",
    "li.unread{background:#f0f6ff}",
    "li.unread .title::before{content:'';display:inline-block;width:8px;height:8px;border-radius:50%;",
    "background:#0969da;margin-right:6px;vertical-align:middle}",
    ".title{font-weight:600;margin:0 0 2px}",
    ".body{margin:0;white-space:pre-line;overflow-wrap:anywhere}",
    "time{display:block;color:#57606a;font-size:12px;margin-top:4px}",
    ".status{padding:12px;color:#57606a;margin:0}",
    ".status:empty{display:none}",
    ".more{margin:8px auto;display:block}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
  ].join("");

  var wrap = el("div", { "class": cfg.target ? "wrap" : "wrap floating" });
  var bell = el("button", {
    "type": "button", "class": "bell", "aria-expanded": "false", "aria-controls": uid + "-panel",
    "aria-haspopup": "dialog", "aria-label": "Notifications"
  });
  bell.appendChild(bellIcon());
  var badge = el("span", { "class": "badge", "aria-hidden": "true", "hidden": "" });
  bell.appendChild(badge);

  var panel = el("div", {
    "id": uid + "-panel", "class": "panel", "role": "dialog", "aria-labelledby": uid + "-title",
    "tabindex": "-1", "hidden": ""
  });
  var head = el("div", { "class": "head" });
  var title = el("h2", { "id": uid + "-title" }, "Notifications");
  var markAll = el("button", { "type": "button", "class": "link" }, "Mark all read");
  head.appendChild(title);
  head.appendChild(markAll);
  var list = el("ul", { "aria-label": "Messages" });
  var status = el("p", { "class": "status", "role": "status", "aria-live": "polite" });
  var more = el("button", { "type": "button", "class": "link more", "hidden": "" }, "Show older");
  panel.appendChild(head);
  panel.appendChild(status);
  panel.appendChild(list);
  panel.appendChild(more);
  var live = el("span", { "class": "sr", "aria-live": "polite" });

  wrap.appendChild(bell);
  wrap.appendChild(panel);
  wrap.appendChild(live);
  root.appendChild(style);
  root.appendChild(wrap);

  function bellIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "22");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5" +
      "a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z");
    svg.appendChild(path);
    return svg;
  }

  // --- rendering ------------------------------------------------------------------------------
  function renderCount() {
    var n = state.unread;
    badge.textContent = n > 99 ? "99+" : String(n);
    if (n > 0) { badge.removeAttribute("hidden"); } else { badge.setAttribute("hidden", ""); }
    bell.setAttribute("aria-label", n > 0 ? "Notifications, " + n + " unread" : "Notifications, none unread");
    markAll.disabled = n === 0;
  }

  function renderList() {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    state.messages.forEach(function (message) {
      var item = el("li", { "class": message.read ? "read" : "unread" });
      item.appendChild(el("p", { "class": "title" }, message.title || ""));
      if (message.body) { item.appendChild(el("p", { "class": "body" }, message.body)); }
      var when = new Date(message.created_at);
      if (!isNaN(when.getTime())) {
        item.appendChild(el("time", { "datetime": message.created_at }, when.toLocaleString()));
      }
      if (!message.read) {
        var mark = el("button", { "type": "button", "class": "link" }, "Mark read");
        mark.setAttribute("aria-label", "Mark read: " + (message.title || "message"));
        mark.addEventListener("click", function () { markRead(message, mark); });
        item.appendChild(mark);
      }
      list.appendChild(item);
    });
    status.textContent = state.messages.length ? "" : "No notifications yet.";
    if (state.nextBefore) { more.removeAttribute("hidden"); } else { more.setAttribute("hidden", ""); }
  }

  function fail(error) {
    state.errored = true;
    if (error && error.status === 401) {
      // Expired or revoked token: stop asking until the page reloads with a fresh one.
      state.stopped = true;
      status.textContent = "Please reload the page to see your notifications.";
    } else {
      status.textContent = "Notifications could not be loaded. Retrying shortly.";
    }
  }

  function applyCount(count) {
    var before = state.unread;
    state.unread = count;
    renderCount();
    if (count > before && state.loaded) { live.textContent = count + " unread notifications"; }
  }

  function signature(messages) {
    return messages.map(function (m) { return m.id + (m.read ? "r" : "u"); }).join(",");
  }

  // --- data -----------------------------------------------------------------------------------
  function refresh() {
    if (state.stopped || state.loading) { return Promise.resolve(); }
    state.loading = true;
    return call("GET", base + "?limit=20").then(function (body) {
      var page = body.messages || [];
      var merged = page;
      if (state.messages.length > page.length && page.length) {
        // Older pages the customer already opened stay below the fresh first page.
        var oldest = page[page.length - 1].id;
        merged = page.concat(state.messages.filter(function (m) { return m.id < oldest; }));
      } else {
        state.nextBefore = body.next_before;
      }
      var changed = signature(merged) !== signature(state.messages) || state.errored;
      state.messages = merged;
      state.errored = false;
      applyCount(body.unread_count || 0);
      state.loaded = true;
      // Re-render only on change, so a poll does not pull focus from under the customer.
      if (state.open && (changed || !list.firstChild)) { renderList(); }
    }, fail).then(function () { state.loading = false; });
  }

  function loadOlder() {
    if (!state.nextBefore) { return; }
    more.disabled = true;
    call("GET", base + "?limit=20&before=" + encodeURIComponent(state.nextBefore)).then(function (body) {
      state.messages = state.messages.concat(body.messages || []);
      state.nextBefore = body.next_before;
      applyCount(body.unread_count || 0);
      renderList();
    }, fail).then(function () { more.disabled = false; });
  }

  function markRead(message, button) {
    button.disabled = true;
    call("POST", base + "/" + encodeURIComponent(message.id) + "/read").then(function (body) {
      message.read = true;
      applyCount(body.unread_count || 0);
      renderList();
      panel.focus();
    }, function (error) { button.disabled = false; fail(error); });
  }

  markAll.addEventListener("click", function () {
    markAll.disabled = true;
    call("POST", base + "/read-all").then(function (body) {
      state.messages.forEach(function (message) { message.read = true; });
      applyCount(body.unread_count || 0);
      renderList();
      panel.focus();
    }, function (error) { renderCount(); fail(error); });
  });
  more.addEventListener("click", loadOlder);

  // --- open / close ---------------------------------------------------------------------------
  function open() {
    state.open = true;
    panel.removeAttribute("hidden");
    bell.setAttribute("aria-expanded", "true");
    renderList();
    panel.focus();
    refresh();
  }

  function close(returnFocus) {
    if (!state.open) { return; }
    state.open = false;
    panel.setAttribute("hidden", "");
    bell.setAttribute("aria-expanded", "false");
    if (returnFocus) { bell.focus(); }
  }

  bell.addEventListener("click", function () { if (state.open) { close(true); } else { open(); } });
  wrap.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && state.open) {
      event.preventDefault();
      close(true);
    }
  });
  document.addEventListener("click", function (event) {
    // Clicks inside the shadow root are retargeted to the host.
    if (state.open && event.target !== host && !host.contains(event.target)) { close(false); }
  });

  // --- start ----------------------------------------------------------------------------------
  function mount() {
    var target = cfg.target ? document.querySelector(cfg.target) : null;
    (target || document.body).appendChild(host);
    if (cfg.target && !target) { wrap.className = "wrap floating"; }
    renderCount();
    refresh();
    setInterval(function () { if (!document.hidden) { refresh(); } }, cfg.poll);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();
