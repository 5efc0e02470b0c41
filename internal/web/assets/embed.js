// kassa hosted checkout, embedded by Dintero's web SDK
// (@dintero/checkout-web-sdk): the page's side of its postMessage protocol.
// Every message carries the session id (sid) and goes to the parent only,
// once per allowed origin (a message to an origin that is not the
// parent's is dropped by the browser); only the parent, from an allowed
// origin, is listened to.
(function () {
  "use strict";
  var body = document.body;
  var raw = body.getAttribute("data-embed");
  if (!raw || window.parent === window) {
    return;
  }
  var d = JSON.parse(raw);
  var origins = d.origins || [];
  var seq = 0;
  var acked = {};

  function post(msg) {
    msg.sid = d.sid;
    msg.mid = "kassa-" + (++seq);
    for (var i = 0; i < origins.length; i++) {
      window.parent.postMessage(msg, origins[i]);
    }
  }

  // HeightChanged on every change of the page's size: the SDK sizes its
  // iframe by it (the iframe starts at height 0).
  var last = -1;
  function height() {
    var cs = window.getComputedStyle(body);
    var h = Math.ceil(body.getBoundingClientRect().height +
      (parseFloat(cs.marginTop) || 0) + (parseFloat(cs.marginBottom) || 0));
    if (h !== last) {
      last = h;
      post({ type: "HeightChanged", height: h });
    }
  }
  if (window.ResizeObserver) {
    new ResizeObserver(height).observe(body);
  }
  window.addEventListener("load", height);
  height();

  if (d.result) {
    return;
  }
  if (d.not_found) {
    post({ type: "SessionNotFound" });
    return;
  }
  post({ type: "SessionLoaded", session: d.session });
  if (d.event) {
    post(d.event);
  }

  // LockSession: the merchant is about to change the session; no payment
  // may start until it has (RefreshSession unlocks).
  var form = document.getElementById("pay");
  function lock(on) {
    if (!form) {
      return;
    }
    if (on) {
      body.setAttribute("data-locked", "true");
    } else {
      body.removeAttribute("data-locked");
    }
    var els = form.querySelectorAll("input, button");
    for (var i = 0; i < els.length; i++) {
      els[i].disabled = on;
    }
  }
  if (form) {
    form.addEventListener("submit", function (e) {
      if (body.getAttribute("data-locked") === "true") {
        e.preventDefault();
      }
    });
  }
  function lockID() {
    var b = new Uint8Array(12);
    window.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  window.addEventListener("message", function (e) {
    if (e.source !== window.parent || origins.indexOf(e.origin) < 0) {
      return;
    }
    var m = e.data;
    if (!m || typeof m !== "object") {
      return;
    }
    if (m.ack !== undefined) { // acknowledgements have no sid and no type
      acked[m.ack] = true;
      body.setAttribute("data-acks", String(Object.keys(acked).length));
      return;
    }
    if (m.sid !== d.sid) {
      return;
    }
    switch (m.type) {
    case "LockSession":
      if (d.state === "form") {
        lock(true);
        post({ type: "SessionLocked", pay_lock_id: lockID() });
      } else {
        post({ type: "SessionLockFailed" });
      }
      break;
    case "RefreshSession":
      fetch(d.session_url, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          if (r.status === 404) {
            post({ type: "SessionNotFound" });
            return null;
          }
          if (!r.ok) {
            throw new Error("status " + r.status);
          }
          return r.json();
        })
        .then(function (s) {
          if (s) {
            lock(false);
            post({ type: "SessionUpdated", session: s });
          }
        })
        .catch(function () { /* the SDK's promise stays pending; a later refresh may succeed */ });
      break;
    }
  });
})();
