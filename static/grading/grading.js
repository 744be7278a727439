// Keyboard-first grading: every element with a data-key answers to that key, and the keys are shown
// on the buttons; typing in the note or a menu never triggers them.
(function () {
  "use strict";
  var form = document.getElementById("grade-form");
  var seconds = document.getElementById("seconds");
  var shownAt = Date.now();
  var sent = false;

  if (form) {
    form.addEventListener("submit", function () {
      seconds.value = ((Date.now() - shownAt) / 1000).toFixed(1);
      sent = true;
    });
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "checkbox");
  }

  document.addEventListener("keydown", function (event) {
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    var key = event.key.toLowerCase();
    if (key === "n" && document.getElementById("note")) {
      event.preventDefault();
      document.getElementById("note").focus();
      return;
    }
    var element = document.querySelector('[data-key="' + key + '"]');
    if (!element) return;
    event.preventDefault();
    if (element.type === "checkbox") {
      element.checked = !element.checked;
    } else if (element.tagName === "BUTTON") {
      if (sent) return;
      sent = true;
      if (element.form === form) seconds.value = ((Date.now() - shownAt) / 1000).toFixed(1);
      if (element.form.requestSubmit) element.form.requestSubmit(element);
      else element.click();
    } else if (element.tagName === "A") {
      window.location.href = element.href;
    }
  });
})();
