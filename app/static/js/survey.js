// The survey form, improved when JavaScript runs (it works without): a sticky count of the questions that need an
// answer, a reason box marked required for assistive technology while the answer that requires it is chosen, and
// the summary of questions to fix focused when the page shows one.
(function () {
  "use strict";
  var form = document.querySelector("main form[method=post]");
  if (!form) {
    return;
  }
  var bar = form.querySelector(".progress");
  var groups = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-required]"));
  var conditional = Array.prototype.slice.call(form.querySelectorAll("[data-required-if]"));

  function count() {
    var answered = groups.filter(function (group) { return group.querySelector("input:checked"); }).length;
    bar.querySelector(".answered").textContent = answered;
  }

  function mark() {
    conditional.forEach(function (box) {
      var chosen = form.querySelector("input[name='" + box.getAttribute("data-required-if") + "']:checked");
      var required = !!chosen && box.getAttribute("data-values").split(" ").indexOf(chosen.value) >= 0;
      box.required = required;
      box.setAttribute("aria-required", required ? "true" : "false");
    });
  }

  if (bar && groups.length) {
    bar.hidden = false;
    count();
    form.addEventListener("change", count);
  }
  if (conditional.length) {
    mark();
    form.addEventListener("change", mark);
  }
  var summary = document.getElementById("loi");
  if (summary) {
    summary.focus();
  }
})();
