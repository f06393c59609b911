/* Attempt page: show the time left (the server decides the deadline; this only displays it), save answers in the
   background when they change, keep the question list and the answered count up to date, and submit the saved
   answers when the time is up. Without JavaScript the "Lưu bài" and "Nộp bài" buttons do the same on the server. */
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  var status = document.getElementById("save-status");
  var timer = document.getElementById("timer");
  var finished = false;

  var finish = function () {
    // Time is up: send what is on the page (the server accepts it within the grace period, otherwise it submits
    // the answers saved before the deadline), then show the result.
    if (finished || !form) { return; }
    finished = true;
    var go = function () { window.location.assign(form.dataset.resultUrl); };
    if (!window.fetch || !window.FormData) { go(); return; }
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin", headers: {"Accept": "application/json"}
    }).then(function (response) {
      if (response.ok || response.status === 409) { go(); } else { window.setTimeout(go, 5000); }
    }).catch(function () { window.setTimeout(go, 5000); });
  };

  if (timer) {
    var label = document.getElementById("timer-label");
    if (label && label.dataset.runningText) { label.textContent = label.dataset.runningText; }
    var deadline = Number(timer.dataset.deadlineMs);
    var skew = Number(timer.dataset.serverNowMs) - Date.now();
    var tick = function () {
      var leftMs = deadline - (Date.now() + skew);
      var left = Math.max(0, Math.ceil(leftMs / 1000));
      if (leftMs <= 0) {
        timer.textContent = timer.dataset.expiredText;
        timer.classList.add("low");
        finish();
        return;
      }
      var hours = Math.floor(left / 3600), minutes = Math.floor((left % 3600) / 60), seconds = left % 60;
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      timer.textContent = (hours ? hours + ":" + pad(minutes) : minutes) + ":" + pad(seconds);
      timer.classList.toggle("low", left < 60);
      window.setTimeout(tick, Math.min(1000, Math.max(20, leftMs % 1000 || 1000)));
    };
    tick();
  }

  if (!form || !form.dataset.autosaveUrl) { return; }
  var links = document.querySelectorAll(".q-nav a[data-q]");
  var count = document.getElementById("answered-n");
  var mark = function () {
    var done = 0;
    Array.prototype.forEach.call(links, function (link) {
      var answered = form.querySelector('input[name="' + link.dataset.q + '"]:checked') !== null;
      link.classList.toggle("done", answered);
      link.setAttribute("aria-label", answered ? link.dataset.doneLabel : link.dataset.todoLabel);
      if (answered) { done += 1; }
    });
    if (count) { count.textContent = String(done); }
  };
  if (!window.fetch || !window.FormData) { form.addEventListener("change", mark); return; }
  var pending = null, inFlight = false, again = false;
  var save = function () {
    if (inFlight) { again = true; return; }
    if (finished) { return; }
    inFlight = true;
    fetch(form.dataset.autosaveUrl, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(function (response) {
      if (status) { status.textContent = response.ok ? status.dataset.savedText : status.dataset.failedText; }
      if (response.status === 409 || response.status === 401) { window.location.reload(); }
    }).catch(function () {
      if (status) { status.textContent = status.dataset.failedText; }
      window.setTimeout(save, 5000);
    }).then(function () {
      inFlight = false;
      if (again) { again = false; save(); }
    });
  };
  var schedule = function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(save, 800);
  };
  form.addEventListener("change", function () { mark(); schedule(); });
  form.addEventListener("input", function (event) { if (event.target.name === "prediction") { schedule(); } });
})();
