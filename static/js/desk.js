// The desk's only script: htmx wiring. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');
  // Every htmx request carries the CSRF token in a header (plain forms use a hidden field).
  document.addEventListener("htmx:configRequest", function (event) {
    if (token) { event.detail.headers["X-CSRFToken"] = token.getAttribute("content"); }
  });
  // A server error or a lost connection must not fail silently.
  function showError(message) {
    var box = document.getElementById("flashes");
    if (!box) { return; }
    var div = document.createElement("div");
    div.className = "alert alert-danger py-2";
    div.textContent = message;
    box.replaceChildren(div);
  }
  // The messages come translated from the server, on <body data-msg-…>.
  document.addEventListener("htmx:responseError", function (event) {
    showError(document.body.dataset.msgFailed + " (" + event.detail.xhr.status + ")");
  });
  // An error answer meant to be read is shown, not the generic "failed": a message for #flashes
  // (desk.error_pages, desk.input_guard), or a form given back as it was typed when the database
  // or the disk failed (X-Desk-Show, desk.error_pages: its note comes out of band). The form the
  // request came from keeps what was typed; after a submission #flashes is scrolled into view.
  var revealFlashes = false;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && (xhr.getResponseHeader("HX-Retarget") === "#flashes" ||
                              xhr.getResponseHeader("X-Desk-Show") === "true")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      var config = event.detail.requestConfig;
      revealFlashes = !!config && config.verb !== "get";
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var box = document.getElementById("flashes");
    if (revealFlashes && box) { box.scrollIntoView({block: "nearest"}); }
    revealFlashes = false;
  });
  document.addEventListener("htmx:sendError", function () {
    showError(document.body.dataset.msgOffline);
  });
  // Intake: a social channel shows the platform field; a kind that never takes a national ID
  // (data-no-national-id on the kind select, from the server's rules) hides that field, and so
  // does an organisation as the requester (data-organisations on its select), which shows its
  // registration numbers and contact person instead.
  function syncIntake() {
    var channel = document.getElementById("channel");
    var platform = document.getElementById("platform-wrap");
    if (channel && platform) { platform.hidden = channel.value !== "social"; }
    var kind = document.getElementById("kind");
    var never = kind ? (kind.getAttribute("data-no-national-id") || "").split(" ") : [];
    var requester = document.getElementById("b_requester_kind");
    var organisation = !!requester &&
      (requester.getAttribute("data-organisations") || "").split(" ").indexOf(requester.value) !== -1;
    var organisationWrap = document.getElementById("organisation-wrap");
    if (organisationWrap) { organisationWrap.hidden = !organisation; }
    ["national-id-wrap", "id-type-wrap"].forEach(function (id) {
      var wrap = document.getElementById(id);
      if (kind && wrap) { wrap.hidden = organisation || never.indexOf(kind.value) !== -1; }
    });
  }
  document.addEventListener("change", function (event) {
    var id = event.target && event.target.id;
    if (id === "channel" || id === "kind" || id === "b_requester_kind") { syncIntake(); }
  });
  // Intake: a national ID typed into the lookup that found nobody is carried into "record a
  // new beneficiary" when that is opened (only then: a filled field there means "a new one").
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details || details.id !== "new-beneficiary" || !details.open) { return; }
    var carry = document.getElementById("beneficiary-carry");
    var field = document.getElementById("b_national_id");
    if (carry && field && !field.value) { field.value = carry.dataset.nationalId; }
  }, true);
  // File inputs in the page's language (review p1): the browser writes "Choose File / No file
  // chosen" in its own language, so the native input is hidden behind a label styled as a button and a name
  // of ours (texts from <body data-msg-…>). Without JavaScript the native input stays.
  function styleFileInputs() {
    var texts = document.body.dataset;
    document.querySelectorAll("input[type=file]:not([data-styled])").forEach(function (input) {
      input.setAttribute("data-styled", "");
      // A second label for the input (a click on it opens the chooser; the input itself stays
      // focusable, its focus ring drawn on this label by desk.css).
      if (!input.id) { input.id = "file-" + Math.random().toString(36).slice(2); }
      var button = document.createElement("label");
      button.htmlFor = input.id;
      button.className = "btn btn-outline-secondary btn-sm desk-file-button m-0";
      button.textContent = texts.msgChooseFile;
      var name = document.createElement("span");
      name.className = "desk-file-name small text-muted";
      name.setAttribute("aria-live", "polite");
      name.textContent = texts.msgNoFile;
      var box = document.createElement("span");
      box.className = "desk-file d-inline-flex flex-wrap align-items-center gap-2";
      box.appendChild(button);
      box.appendChild(name);
      input.classList.add("visually-hidden");
      input.insertAdjacentElement("afterend", box);
      input.addEventListener("change", function () {
        var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
        name.textContent = names.length ? names.join(document.documentElement.lang === "ar" ? "، " : ", ") : texts.msgNoFile;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", styleFileInputs);
  document.addEventListener("htmx:afterSettle", styleFileInputs);
  document.addEventListener("DOMContentLoaded", syncIntake);
  document.addEventListener("htmx:afterSettle", syncIntake);
  // A message to many (templates/broadcasts/_form.html): only the chosen group's fields, and the
  // delay's reason only for an aid delay. Without JavaScript every field is shown.
  function syncBroadcast() {
    var audience = document.getElementById("audience");
    if (!audience) { return; }
    document.querySelectorAll("[data-audience-for]").forEach(function (wrap) {
      wrap.hidden = wrap.getAttribute("data-audience-for").split(" ").indexOf(audience.value) === -1;
    });
    var delay = document.getElementById("aid_delay"), reason = document.getElementById("reason-wrap");
    if (delay && reason) { reason.hidden = !delay.checked; }
  }
  document.addEventListener("change", function (event) {
    if (event.target && (event.target.id === "audience" || event.target.id === "aid_delay")) { syncBroadcast(); }
  });
  document.addEventListener("DOMContentLoaded", syncBroadcast);
  document.addEventListener("htmx:afterSettle", syncBroadcast);
  // The ticket page: the version of the ticket this page shows is the header's, which every
  // htmx answer about the ticket refreshes. Every form's hidden version follows it, so a change
  // made from one panel never makes another panel's form look stale: only a change someone
  // else made (which this page has not shown) is refused as a conflict.
  function syncVersions() {
    var header = document.getElementById("ticket-header");
    if (!header || !header.dataset.version) { return; }
    document.querySelectorAll("input[data-ticket-version]").forEach(function (input) {
      input.value = header.dataset.version;
    });
  }
  document.addEventListener("htmx:afterSettle", syncVersions);
  // The queue's bulk actions (templates/queue/_bulk.html). The rows' checkboxes belong to the
  // bulk form, so without JavaScript it is a plain form post. Here: shift-click checks a range,
  // "select all loaded", the count, only the chosen action's fields shown, and the selection kept
  // across the 30-second refresh, which replaces the rows (each box keeps the version it was
  // checked at: a ticket changed since is refused as such, never changed unseen).
  var lastPick = null;
  function picks() { return Array.prototype.slice.call(document.querySelectorAll("input.desk-pick")); }
  function showCount() {
    var count = document.getElementById("bulk-count");
    if (!count) { return; }
    var n = picks().filter(function (box) { return box.checked; }).length;
    var panel = document.getElementById("queue-bulk");
    if (panel && n) { panel.open = true; }
    var lang = document.documentElement.lang === "ar" ? "ar-SA-u-nu-arab" : "en-u-nu-latn";
    count.textContent = new Intl.NumberFormat(lang).format(n);
  }
  function syncBulkFields() {
    var action = document.getElementById("bulk-action");
    if (!action) { return; }
    document.querySelectorAll("[data-bulk-for]").forEach(function (wrap) {
      wrap.hidden = wrap.getAttribute("data-bulk-for").split(" ").indexOf(action.value) === -1;
    });
    document.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });
  }
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.id === "pick-all" || target.id === "pick-none") {
      picks().forEach(function (box) { box.checked = target.id === "pick-all"; });
      showCount();
      return;
    }
    if (!target.classList || !target.classList.contains("desk-pick")) { return; }
    if (event.shiftKey && lastPick && lastPick !== target && document.contains(lastPick)) {
      var all = picks(), from = all.indexOf(lastPick), to = all.indexOf(target);
      all.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (box) { box.checked = target.checked; });
    }
    lastPick = target;
    showCount();
  });
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "bulk-action") { syncBulkFields(); }
  });
  var keptPicks = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "queue-results") {
      keptPicks = {};
      picks().forEach(function (box) { if (box.checked) { keptPicks[box.dataset.ticket] = box.value; } });
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (keptPicks) {
      picks().forEach(function (box) {
        if (keptPicks[box.dataset.ticket]) { box.checked = true; box.value = keptPicks[box.dataset.ticket]; }
      });
      keptPicks = null;
    }
    syncBulkFields();
    showCount();
  });
  // After a bulk action the rows are refreshed without the selection: the summary says what was done.
  document.body.addEventListener("desk-queue-changed", function () {
    picks().forEach(function (box) { box.checked = false; });
    showCount();
  });
  document.addEventListener("DOMContentLoaded", function () { syncBulkFields(); showCount(); });
  // The header (templates/_nav.html): on a phone a real button opens and closes the menu (the
  // <details> it stands for works without JavaScript); from 768 px the menu is always open.
  // A group's dropdown closes on Escape (focus back on it), on a click elsewhere and when
  // another group opens.
  function setUpMenu() {
    var menu = document.getElementById("desk-menu");
    var button = document.querySelector(".desk-menu-button");
    if (!menu || !button) { return; }
    var wide = window.matchMedia("(min-width: 768px)");
    menu.querySelector(".desk-menu-summary").hidden = true;
    button.hidden = false;
    function follow() { menu.open = wide.matches; button.setAttribute("aria-expanded", String(menu.open)); }
    follow();
    wide.addEventListener("change", follow);
    button.addEventListener("click", function () {
      menu.open = !menu.open;
      button.setAttribute("aria-expanded", String(menu.open));
    });
    // Escape closes the phone's menu, focus back on its button (a group open inside it closes
    // first, by the handler below, registered earlier)
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || wide.matches || !menu.open) { return; }
      menu.open = false;
      button.setAttribute("aria-expanded", "false");
      button.focus();
    });
  }
  document.addEventListener("DOMContentLoaded", setUpMenu);
  function groups() { return document.querySelectorAll(".desk-group > details[open]"); }
  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!opened.open || !opened.parentElement || !opened.parentElement.classList.contains("desk-group")) { return; }
    groups().forEach(function (other) { if (other !== opened) { other.open = false; } });
  }, true);
  document.addEventListener("click", function (event) {
    groups().forEach(function (open) { if (!open.contains(event.target)) { open.open = false; } });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !groups().length) { return; }
    groups().forEach(function (open) {
      if (open.contains(document.activeElement)) { open.querySelector("summary").focus(); }
      open.open = false;
    });
    event.stopImmediatePropagation();  // one Escape closes one thing (not the phone's menu too)
  });
  // A form given back with errors (a page after a POST, or a 422 answer swapped in): focus goes
  // to the first field marked invalid, so its label and message (aria-describedby) are read out
  // and the person is where the fix is. Not when the page already put focus somewhere
  // (autofocus, e.g. the survey's first missing item).
  function focusFirstError(root) {
    var field = root.querySelector('[aria-invalid="true"]:not([disabled])');
    if (!field) { return; }
    var active = document.activeElement;
    if (active && active !== document.body && root.contains(active) && active.hasAttribute("autofocus")) { return; }
    field.focus();
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[autofocus]")) { focusFirstError(document); }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var xhr = event.detail.xhr;
    // (the element settled: for an outerHTML swap, the new one)
    var root = event.target && event.target.isConnected ? event.target : document;
    if (xhr && xhr.status === 422) { focusFirstError(root); }
  });
  // Saved replies (desk.replies): the combobox in the reply box. htmx fills its listbox as the
  // writer types; the arrows move through the options (aria-activedescendant), Enter or a click
  // inserts the chosen one at the cursor (filled in by the server, in the request's language),
  // Escape closes. The reply box is then a public reply carrying the reply's id, counted as used
  // when it is sent.
  function pickerParts(from) {
    var picker = from && from.closest ? from.closest("[data-reply-picker]") : null;
    if (!picker) { return null; }
    return {picker: picker, input: picker.querySelector("[role=combobox]"),
            list: picker.querySelector("[role=listbox]")};
  }
  function pickerOptions(parts) {
    return Array.prototype.slice.call(parts.list.querySelectorAll("[role=option][data-reply-id]"));
  }
  function pickerOpen(parts, open) {
    parts.list.hidden = !open;
    parts.input.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) { pickerActivate(parts, null); }
  }
  function pickerActivate(parts, option) {
    pickerOptions(parts).forEach(function (o) {
      var on = o === option;
      o.classList.toggle("active", on);
      o.setAttribute("aria-selected", on ? "true" : "false");
    });
    if (option) {
      parts.input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({block: "nearest"});
    } else {
      parts.input.removeAttribute("aria-activedescendant");
    }
  }
  function pickerInsert(parts, option) {
    var compose = document.getElementById("ticket-compose");
    var body = compose && compose.querySelector("#body");
    if (!body) { return; }
    var text = option.getAttribute("data-reply-text");
    var start = body.selectionStart || 0, end = body.selectionEnd || 0;
    body.value = body.value.slice(0, start) + text + body.value.slice(end);
    body.selectionStart = body.selectionEnd = start + text.length;
    var reply = compose.querySelector("#vis-reply");
    if (reply) { reply.checked = true; }
    var form = body.form, id = option.getAttribute("data-reply-id");
    if (form && !form.querySelector('input[name="saved_reply"][value="' + id + '"]')) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = "saved_reply"; hidden.value = id;
      form.appendChild(hidden);
    }
    parts.input.value = "";
    pickerOpen(parts, false);
    body.focus();
  }
  document.addEventListener("keydown", function (event) {
    var parts = pickerParts(event.target);
    if (!parts || event.target !== parts.input) { return; }
    var options = pickerOptions(parts);
    var current = parts.list.querySelector("[role=option].active");
    var index = options.indexOf(current);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (parts.list.hidden) { pickerOpen(parts, true); }
      if (!options.length) { return; }
      var step = event.key === "ArrowDown" ? 1 : -1;
      pickerActivate(parts, options[(index + step + options.length) % options.length] || options[0]);
    } else if (event.key === "Enter") {
      event.preventDefault();  // never submits the search form: the list is already there
      if (current && !parts.list.hidden) { pickerInsert(parts, current); }
    } else if (event.key === "Escape") {
      if (!parts.list.hidden) { event.preventDefault(); pickerOpen(parts, false); }
    }
  });
  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest("[role=option][data-reply-id]");
    var parts = pickerParts(option);
    if (!option || !parts) { return; }
    event.preventDefault();  // the link is for pages without script
    pickerInsert(parts, option);
  });
  document.addEventListener("focusout", function (event) {
    var parts = pickerParts(event.target);
    if (!parts) { return; }
    setTimeout(function () {  // after a click on an option has been handled
      if (!parts.picker.contains(document.activeElement)) { pickerOpen(parts, false); }
    }, 150);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    if (!list || list.id !== "reply-picker-list") { return; }
    var parts = pickerParts(document.getElementById("reply-picker-list"));
    if (!parts) { return; }
    var status = document.getElementById("reply-picker-status");
    if (status) { status.textContent = parts.list.getAttribute("data-status") || ""; }
    pickerOpen(parts, document.activeElement === parts.input);
  });
  // The printable receipt: its "Print" button (no inline script: the page's CSP forbids it).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
  });
})();
