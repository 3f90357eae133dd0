// The filters fold away on a narrow screen (a phone), where they would take half of the
// first screen; they stay open on a wide one. Without this script they are simply open.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var narrow = window.matchMedia("(max-width: 36rem)");
  var folds = document.querySelectorAll("details.filters-fold");
  function fit() {
    folds.forEach(function (fold) {
      fold.open = !narrow.matches;
    });
  }
  fit();
  narrow.addEventListener("change", fit);
});
