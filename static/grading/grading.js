// Keyboard-first grading: the keys are shown on the buttons; typing in the note never triggers them.
(function () {
  "use strict";
  var form = document.getElementById("grade-form");
  if (!form) return;
  var shownAt = Date.now();
  var sent = false;

  function submit(targetForm, button) {
    if (sent) return;
    sent = true;
    if (targetForm === form) {
      document.getElementById("seconds").value = ((Date.now() - shownAt) / 1000).toFixed(1);
    }
    if (targetForm.requestSubmit) targetForm.requestSubmit(button || undefined);
    else (button || targetForm).click();
  }

  form.addEventListener("submit", function () {
    document.getElementById("seconds").value = ((Date.now() - shownAt) / 1000).toFixed(1);
    sent = true;
  });

  function keyed(key) {
    return document.querySelector('[data-key="' + key + '"]');
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" && target.type === "text" || target.tagName === "SELECT");
    if (typing) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key.toLowerCase();
    var element = keyed(key);
    if (key === "n") {
      event.preventDefault();
      document.getElementById("note").focus();
      return;
    }
    if (!element) return;
    event.preventDefault();
    if (element.type === "checkbox") {
      element.checked = !element.checked;
    } else if (element.tagName === "BUTTON") {
      submit(element.form, element);
    } else if (element.tagName === "A") {
      window.location.href = element.href;
    }
  });
})();
