/* Attempt page: show the time left (the server decides the deadline; this only displays it) and save answers
   in the background when they change. Without JavaScript the "Lưu bài" and "Nộp bài" buttons do the same. */
(function () {
  "use strict";
  var timer = document.getElementById("timer");
  if (timer) {
    var deadline = Number(timer.dataset.deadlineMs);
    var skew = Number(timer.dataset.serverNowMs) - Date.now();
    var tick = function () {
      var left = Math.max(0, Math.floor((deadline - (Date.now() + skew)) / 1000));
      if (left <= 0) {
        timer.textContent = timer.dataset.expiredText;
        timer.classList.add("low");
        return;
      }
      var hours = Math.floor(left / 3600), minutes = Math.floor((left % 3600) / 60), seconds = left % 60;
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      timer.textContent = (hours ? hours + ":" + pad(minutes) : minutes) + ":" + pad(seconds);
      timer.classList.toggle("low", left < 60);
      window.setTimeout(tick, 1000 - ((Date.now() + skew) % 1000));
    };
    tick();
  }

  var form = document.getElementById("attempt-form");
  var status = document.getElementById("save-status");
  if (!form || !window.fetch || !window.FormData) { return; }
  var pending = null, inFlight = false, again = false;
  var save = function () {
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetch(form.dataset.autosaveUrl, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(function (response) {
      if (status) { status.textContent = response.ok ? status.dataset.savedText : status.dataset.failedText; }
      if (response.status === 409) { window.location.reload(); }
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
  form.addEventListener("change", schedule);
  form.addEventListener("input", function (event) { if (event.target.name === "prediction") { schedule(); } });
})();
