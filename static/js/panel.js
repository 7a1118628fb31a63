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

// Provisioning API list: in-place status toggle, delete confirmation, page
// size and Advanced Search conveniences. Without JS every one of these is a
// plain form or link that the server answers the same way.
(function () {
  "use strict";
  document.documentElement.classList.add("js-enabled");

  // The one-time "Handler #5 disabled." is in the address after a redirect;
  // take it out so a reload or a bookmark does not show it again.
  if (window.history.replaceState && /[?&]done=/.test(window.location.search)) {
    var params = new URLSearchParams(window.location.search);
    params.delete("done");
    params.delete("id");
    var rest = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (rest ? "?" + rest : ""));
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : null;
  }

  function hidden(form, name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }

  // Status icon: POST in the background, then swap in the list the server
  // answers with (its redirect lands on this same view), so the icon, the
  // pending-changes notice and the message all come from the server.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("toggle-form") || !window.fetch || !window.DOMParser) {
      return;
    }
    event.preventDefault();
    var row = form.closest("tr");
    var id = row ? row.getAttribute("data-id") : null;
    form.classList.add("busy");
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("status " + response.status); }
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("list-region");
      var region = document.getElementById("list-region");
      if (!fresh || !region) { throw new Error("no list in the answer"); }
      region.replaceWith(document.adoptNode(fresh));
      var button = id && document.querySelector("tr[data-id='" + id + "'] .toggle-form button");
      if (button) { button.focus(); }
    }).catch(function () {
      // Let the server show what went wrong (session ended, archived, ...):
      // the toggle names its target status, so sending it again is safe.
      HTMLFormElement.prototype.submit.call(form);
    });
  });

  // Delete icon: a confirmation dialog, then the POST; without JS the link
  // opens the confirmation page instead.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.delete-link") : null;
    var token = csrfToken();
    if (!link || !token) { return; }
    event.preventDefault();
    var question = "Delete handler #" + link.getAttribute("data-id") + " \u201c" +
      link.getAttribute("data-name") + "\u201d?\n\nThis cannot be undone. Its execution logs stay readable.";
    if (!window.confirm(question)) { return; }
    var form = document.createElement("form");
    form.method = "post";
    form.action = link.pathname;
    hidden(form, "csrf_token", token);
    hidden(form, "return", new URL(link.href).searchParams.get("return") || "");
    document.body.appendChild(form);
    form.submit();
  });

  // Rows per page: apply on change (the Show button is for no-JS browsers).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.getAttribute && select.getAttribute("data-autosubmit") && select.form) {
      select.form.submit();
    }
  });

  // Advanced Search closes like a menu: Escape or a click elsewhere.
  function closeSearch(except) {
    var menus = document.querySelectorAll("details.advsearch[open]");
    for (var i = 0; i < menus.length; i++) {
      if (menus[i] !== except) { menus[i].removeAttribute("open"); }
    }
  }
  document.addEventListener("click", function (event) {
    closeSearch(event.target.closest ? event.target.closest("details.advsearch") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeSearch(null); }
  });
})();

// A page that waits for the retry worker (a script's Send test) marks the
// region that changes with data-poll (milliseconds): fetch the page again and
// swap the region's content in until the server's copy no longer has it. The
// region is a live region, so the result is announced. Without script the
// page's Reload link does the same.
(function () {
  "use strict";
  var region = document.querySelector("[data-poll][id]");
  if (!region || !window.fetch || !window.DOMParser) { return; }
  var delay = Math.max(1000, Number(region.getAttribute("data-poll")) || 2000);
  var failures = 0;
  function poll() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (!response.ok) { throw new Error("status " + response.status); }
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(region.id);
      if (!fresh) { throw new Error("no " + region.id + " in the answer"); }
      failures = 0;
      var nodes = Array.prototype.slice.call(fresh.childNodes).map(function (node) {
        return document.adoptNode(node);
      });
      region.replaceChildren.apply(region, nodes);
      region.setAttribute("data-state", fresh.getAttribute("data-state") || "");
      if (fresh.hasAttribute("data-poll")) {
        window.setTimeout(poll, delay);
      } else {
        region.removeAttribute("data-poll");
      }
    }).catch(function () {
      // The session ended or the server is away: stop after a few tries and
      // leave the Reload link to the operator.
      failures++;
      if (failures < 5) { window.setTimeout(poll, delay * 2); }
    });
  }
  window.setTimeout(poll, delay);
})();
