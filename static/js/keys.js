// Keyboard shortcuts on staff pages (issue 18, point 9). Keys are read by their position
// (event.code), so they work the same with the Arabic or the English keyboard layout active.
// Never while typing in a field, and never with Ctrl, Alt or Meta (the browser's own keys).
//   Queue:  j / k next / previous row · Enter or o open it · / the search box
//   Ticket: r reply · n internal note · t take · s open the resolve form (never resolves)
//   ?       the list of shortcuts (templates/_shortcuts.html, translated by the server)
(function () {
  "use strict";
  var CURRENT = "desk-row-current";
  var currentRef = null;  // the current queue row, by its reference (rows are swapped by the refresh)

  function typing(target) {
    if (!target || !target.closest) { return false; }
    return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']");
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr.desk-row"));
  }

  function refOf(row) {
    var link = row && row.querySelector("a.desk-ref");
    return link ? link.textContent.trim() : null;
  }

  function markCurrent(row, focus) {
    rows().forEach(function (r) { r.classList.remove(CURRENT); });
    if (!row) { currentRef = null; return; }
    row.classList.add(CURRENT);
    currentRef = refOf(row);
    var link = row.querySelector("a.desk-ref");
    if (focus && link) {
      link.focus();
      row.scrollIntoView({block: "nearest"});
    }
  }

  function currentRow() {
    var all = rows();
    for (var i = 0; i < all.length; i += 1) {
      if (refOf(all[i]) === currentRef) { return all[i]; }
    }
    return null;
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return false; }
    var index = all.indexOf(currentRow());
    index = index === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    markCurrent(all[index], true);
    return true;
  }

  function openCurrent() {
    var row = currentRow();
    var link = row && row.querySelector("a.desk-ref");
    if (!link) { return false; }
    link.click();
    return true;
  }

  function compose(visibility) {
    var radio = document.getElementById(visibility === "reply" ? "vis-reply" : "vis-note");
    var body = document.getElementById("body");
    if (!radio || !body) { return false; }
    radio.checked = true;
    body.focus();
    return true;
  }

  function take() {
    var button = document.querySelector("#ticket-actions form[action$='/actions/take'] button[type=submit]");
    if (!button) { return false; }
    button.click();
    return true;
  }

  function openResolve() {
    var details = document.getElementById("action-resolve");
    if (!details) { return false; }
    details.open = true;
    var field = details.querySelector("textarea, input:not([type=hidden])");
    (field || details.querySelector("summary")).focus();
    return true;
  }

  function showList() {
    var dialog = document.getElementById("desk-shortcuts");
    if (!dialog || dialog.open) { return false; }
    dialog.showModal();
    return true;
  }

  var onQueue = function () { return !!document.getElementById("queue-rows"); };
  var onTicket = function () { return !!document.getElementById("ticket-actions"); };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) { return; }
    if (typing(event.target)) { return; }
    var dialog = document.getElementById("desk-shortcuts");
    if (dialog && dialog.open) { return; }  // the dialog has its own keys (Escape closes it)
    var code = event.code;
    if (event.shiftKey) {  // Shift only for "?" (Shift and the slash key, whatever the layout)
      if (code === "Slash" && showList()) { event.preventDefault(); }
      return;
    }
    var done = false;
    if (onQueue()) {
      if (code === "KeyJ") { done = move(1); }
      else if (code === "KeyK") { done = move(-1); }
      else if (code === "KeyO") { done = openCurrent(); }
      else if (code === "Enter" || code === "NumpadEnter") {
        // Enter on a focused link or button does its own thing; here only from the page itself.
        var active = document.activeElement;
        if (!active || active === document.body) { done = openCurrent(); }
      } else if (code === "Slash") {
        var search = document.getElementById("q");
        if (search) { search.focus(); search.select(); done = true; }
      }
    } else if (onTicket()) {
      if (code === "KeyR") { done = compose("reply"); }
      else if (code === "KeyN") { done = compose("note"); }
      else if (code === "KeyT") { done = take(); }
      else if (code === "KeyS") { done = openResolve(); }
    }
    if (done) { event.preventDefault(); }
  });

  // The 30-second refresh replaces the rows: the current one stays marked (without taking focus).
  document.addEventListener("htmx:afterSettle", function () {
    if (currentRef) {
      var row = currentRow();
      if (row) { row.classList.add(CURRENT); }
    }
  });
  // A click on a row makes it the current one, so j and k go on from there.
  document.addEventListener("focusin", function (event) {
    var row = event.target && event.target.closest && event.target.closest("#queue-rows tr.desk-row");
    if (row) { markCurrent(row, false); }
  });
}());
