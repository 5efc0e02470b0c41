// kassa hosted checkout: small progressive enhancements. The page works
// without this script: the form posts, the processing page refreshes.
(function () {
  "use strict";
  var body = document.body;
  var form = document.getElementById("pay");
  if (form) {
    // One submit per rendering: the server pays an attempt once anyway
    // (the form names its attempt), this only spares a second request.
    form.addEventListener("submit", function (e) {
      if (e.defaultPrevented) {
        return; // held back (embed.js: locked, or the merchant is checking the order)
      }
      var b = document.getElementById("submit");
      if (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      }
    });
    var first = form.querySelector("[aria-invalid=true]");
    if (first) {
      first.focus();
    }
  }
  if (body.getAttribute("data-state") === "processing") {
    var id = body.getAttribute("data-session");
    var poll = function () {
      fetch("/checkout/" + encodeURIComponent(id) + "/status", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.state && s.state !== "processing") {
            window.location.reload();
          } else {
            window.setTimeout(poll, 2000);
          }
        })
        .catch(function () { window.setTimeout(poll, 4000); });
    };
    window.setTimeout(poll, 1500);
  }
})();
