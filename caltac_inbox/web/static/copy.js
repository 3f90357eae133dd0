// "Copy subscription link": shown only where this script runs; without it the link is a
// read-only field to select and copy by hand.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentElement.querySelector(".copy-status");
    if (!field) {
      return;
    }
    button.hidden = false;
    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }
    function copyBySelection() {
      field.focus();
      field.select();
      try {
        say(document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C (or ⌘C) to copy.");
      } catch (err) {
        say("Selected: press Ctrl+C (or ⌘C) to copy.");
      }
    }
    button.addEventListener("click", function () {
      // The Clipboard API needs HTTPS (or localhost); on a plain-HTTP LAN, select instead.
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () { say("Copied."); }, copyBySelection);
      } else {
        copyBySelection();
      }
    });
  });
});
