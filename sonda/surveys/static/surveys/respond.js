/* Survey pages: show a question only when the answer it depends on (on the same page) calls for
   it, and bring the error summary into view. Without JavaScript the page still works: such
   questions carry a note, and the server ignores answers their condition hides. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function answerOf(form, key, kind) {
    var inputs = form.querySelectorAll("[name='" + key + "']");
    var values = [];
    Array.prototype.forEach.call(inputs, function (input) {
      if (input.disabled) {
        return;
      }
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) {
        return;
      }
      if (input.value.trim() !== "") {
        values.push(input.value.trim());
      }
    });
    if (kind === "yes_no") {
      values = values.map(function (v) { return v === "yes" ? 1 : v === "no" ? 0 : NaN; });
    }
    return values;
  }

  function applies(condition, values) {
    if (!values.length) {
      return false;
    }
    var expected = Array.isArray(condition.value) ? condition.value : [condition.value];
    if (condition.kind === "single_choice" || condition.kind === "multi_choice") {
      var hit = values.some(function (v) { return expected.indexOf(v) !== -1; });
      return condition.op === "eq" || condition.op === "in" ? hit : !hit;
    }
    var number = parseFloat(String(values[0]).replace(",", "."));
    if (isNaN(number)) {
      return false;
    }
    var target = Number(expected[0]);
    switch (condition.op) {
      case "eq": return number === target;
      case "ne": return number !== target;
      case "lt": return number < target;
      case "lte": return number <= target;
      case "gt": return number > target;
      case "gte": return number >= target;
      case "in": return expected.map(Number).indexOf(number) !== -1;
      default: return expected.map(Number).indexOf(number) === -1;
    }
  }

  function update(form) {
    // In page order, so that a question hidden above hides those that depend on it.
    Array.prototype.forEach.call(form.querySelectorAll("[data-show-if]"), function (question) {
      var condition = JSON.parse(question.getAttribute("data-show-if"));
      var show = applies(condition, answerOf(form, condition.question, condition.kind));
      question.hidden = !show;
      Array.prototype.forEach.call(question.querySelectorAll("input, textarea"), function (input) {
        input.disabled = !show;
      });
    });
  }

  function setUp() {
    var form = document.getElementById("survey-form");
    if (form && form.querySelector("[data-show-if]")) {
      update(form);
      form.addEventListener("change", function () { update(form); });
      form.addEventListener("input", function () { update(form); });
    }
    if (form) {
      // One click sends the page once; a second click while it is on its way is ignored.
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sending")) {
          event.preventDefault();
          return;
        }
        form.setAttribute("data-sending", "1");
      });
      // Coming back with the browser's back button finds the page as it was left.
      window.addEventListener("pageshow", function () { form.removeAttribute("data-sending"); });
    }
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
