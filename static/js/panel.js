// Provisioning API panel: progressive enhancement only; every action works without it.
(function () {
  "use strict";
  // Forms marked data-confirm ask before they submit (delete, restart).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
