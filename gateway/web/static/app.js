// Live updates for the workspace, written for this page and nothing else.
// The server sends one "plan" event per changed plan (Server-Sent Events); every region
// marked data-live-plan (a plan id, or "*" for any) is fetched again from its
// data-fragment URL and swapped in, keeping focus, typed text and open <details>.
(function () {
  "use strict";

  var body = document.body;
  var statusEl = document.getElementById("live-status");
  var pending = {};

  function say(text, off) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.classList.toggle("off", !!off);
  }

  function byId(root, id) {
    return id ? root.querySelector("#" + CSS.escape(id)) : null;
  }

  function carryOver(oldEl, freshEl) {
    oldEl.querySelectorAll("textarea[id], input[type=text][id]").forEach(function (el) {
      var twin = byId(freshEl, el.id);
      if (twin && el.value) twin.value = el.value;
    });
    oldEl.querySelectorAll("details[id]").forEach(function (el) {
      var twin = byId(freshEl, el.id);
      if (twin) twin.open = el.open;
    });
  }

  function swap(target, html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    var fresh = tpl.content.firstElementChild;
    if (!fresh || fresh.id !== target.id) return false;
    var active = document.activeElement;
    var focusId = active && target.contains(active) ? active.id : null;
    var caret = null;
    if (focusId && typeof active.selectionStart === "number") {
      caret = [active.selectionStart, active.selectionEnd];
    }
    carryOver(target, fresh);
    target.replaceWith(fresh);
    if (focusId) {
      var again = document.getElementById(focusId);
      if (again) {
        again.focus({ preventScroll: true });
        if (caret && again.setSelectionRange) again.setSelectionRange(caret[0], caret[1]);
      }
    }
    return true;
  }

  function refresh(target) {
    var url = target.getAttribute("data-fragment");
    if (!url) return Promise.resolve(false);
    return fetch(url, { headers: { "X-Fragment": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) {
          window.location.assign("/web/login?next=" + encodeURIComponent(window.location.pathname));
          return false;
        }
        if (!response.ok) return false;
        return response.text().then(function (html) { return swap(target, html); });
      })
      .catch(function () { return false; });
  }

  function planChanged(planId) {
    var targets = document.querySelectorAll("[data-live-plan]");
    targets.forEach(function (target) {
      var wanted = target.getAttribute("data-live-plan");
      if (wanted !== "*" && wanted !== planId) return;
      // Several events in a burst (a report is two or three rows) make one fetch.
      var key = target.id;
      if (pending[key]) return;
      pending[key] = setTimeout(function () {
        delete pending[key];
        var current = document.getElementById(key);
        if (!current) return;
        refresh(current).then(function (done) {
          if (done) say(body.getAttribute("data-live-updated") || "");
        });
      }, 250);
    });
  }

  function listen() {
    var url = body.getAttribute("data-stream");
    if (!url || !window.EventSource) return;
    var source = new EventSource(url);
    source.addEventListener("ready", function () {
      say(body.getAttribute("data-live-on") || "");
    });
    source.addEventListener("plan", function (event) {
      try {
        planChanged(JSON.parse(event.data).plan_id);
      } catch (e) { /* a malformed event changes nothing on the page */ }
    });
    source.onerror = function () {
      say(body.getAttribute("data-live-off") || "", true);
    };
    window.addEventListener("pagehide", function () { source.close(); });
  }

  // "Show IIN": the server logs the reveal and answers with the family block.
  function enhanceSwapForms() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var swapId = form.getAttribute && form.getAttribute("data-swap");
      if (!swapId) return;
      var target = document.getElementById(swapId);
      if (!target) return;
      event.preventDefault();
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Fragment": "1" },
        credentials: "same-origin"
      }).then(function (response) {
        if (!response.ok) { form.submit(); return; }
        return response.text().then(function (html) {
          if (swap(target, html)) {
            var heading = document.getElementById(swapId + "-h");
            if (heading) heading.focus();
          }
        });
      });
    });
  }

  enhanceSwapForms();
  listen();
})();
