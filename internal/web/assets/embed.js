// kassa hosted checkout, embedded by Dintero's web SDK
// (@dintero/checkout-web-sdk): the page's side of its postMessage protocol.
// Every message carries the session id (sid) and goes to the SDK's page
// only, once per allowed origin (a message to an origin that is not that
// page's is dropped by the browser); only that page, from an allowed
// origin, is listened to. The SDK's page is the parent of the iframe, or
// the opener of the pop-out window (context "popOut", ADR 0028).
(function () {
  "use strict";
  var body = document.body;
  var raw = body.getAttribute("data-embed");
  if (!raw) {
    return;
  }
  var d = JSON.parse(raw);
  var popOut = d.context === "popOut";
  var sdk = popOut ? window.opener : window.parent;
  if (!sdk || sdk === window) {
    return;
  }
  var origins = d.origins || [];
  var texts = d.texts || {};
  var seq = 0;
  var acked = {};

  function post(msg) {
    msg.sid = d.sid;
    if (popOut) {
      msg.context = "popOut"; // the SDK routes the window's messages by it; it sends no acks to them
    } else {
      msg.mid = "kassa-" + (++seq);
    }
    for (var i = 0; i < origins.length; i++) {
      sdk.postMessage(msg, origins[i]);
    }
  }

  // The pop-out window tells its opener it is there (within 10 s, or the
  // SDK gives up on it).
  if (popOut) {
    post({ type: "AppLoaded" });
  }

  var status = document.getElementById("embed-status");
  var errorBox = document.getElementById("embed-error");
  function say(text) {
    if (status) {
      status.textContent = text || "";
    }
  }
  function fail(text) {
    if (errorBox) {
      errorBox.textContent = text || "";
      errorBox.hidden = !text;
    }
  }

  // The launcher's button is drawn by the SDK in the merchant's page, over
  // the slot this page keeps free for it.
  // It is asked for again only when the slot moved or the lock changed:
  // a stray ask after the payment would bring the button back.
  var slot = d.role === "launcher" && d.state === "form" ? document.getElementById("popout-slot") : null;
  var buttonDisabled = false;
  var shown = "";
  function showButton() {
    if (!slot) {
      return;
    }
    var r = slot.getBoundingClientRect();
    var width = document.documentElement.clientWidth;
    var top = Math.round(r.top + window.scrollY), left = Math.round(r.left), right = Math.round(width - r.right);
    var key = [top, left, right, Math.round(r.width), Math.round(r.height), buttonDisabled].join(",");
    if (key === shown) {
      return;
    }
    shown = key;
    post({
      type: "ShowPopOutButton",
      openLabel: texts.open, focusLabel: texts.focus, closeLabel: texts.close, descriptionLabel: texts.opened,
      top: top, left: left, right: right,
      styles: {
        width: Math.round(r.width) + "px", height: Math.round(r.height) + "px", border: "0", borderRadius: "8px",
        background: "#1d4ed8", color: "#fff", font: "700 16px system-ui, sans-serif", cursor: "pointer"
      },
      stylesHover: { background: "#1e40af" },
      stylesFocusVisible: { outline: "3px solid #2563eb", outlineOffset: "2px" },
      disabled: buttonDisabled ? "true" : "false",
      language: d.language
    });
  }
  // A launcher of a closed session, and the result page the SDK loads
  // after the final event, leave no pop-out button behind.
  if ((d.role === "launcher" && d.state !== "form") || d.result) {
    post({ type: "HidePopOutButton" });
  }

  // HeightChanged on every change of the page's size: the SDK sizes its
  // iframe by it (the iframe starts at height 0). Not from the pop-out
  // window: the SDK would size the iframe by the window.
  var last = -1;
  function height() {
    var cs = window.getComputedStyle(body);
    var h = Math.ceil(body.getBoundingClientRect().height +
      (parseFloat(cs.marginTop) || 0) + (parseFloat(cs.marginBottom) || 0));
    if (h !== last) {
      last = h;
      post({ type: "HeightChanged", height: h });
    }
    // The slot moves with the width too: the frame loses its scrollbar
    // once the SDK gives it its height.
    showButton();
  }
  if (!popOut) {
    if (window.ResizeObserver) {
      new ResizeObserver(height).observe(body);
    }
    window.addEventListener("load", height);
    window.addEventListener("resize", height);
    height();
  }

  if (d.result) {
    return;
  }
  if (d.not_found) {
    post({ type: "SessionNotFound" });
    return;
  }
  if (!popOut) {
    post({ type: "SessionLoaded", session: d.session });
  }
  if (d.event) {
    post(d.event);
  }

  // LockSession: the merchant is about to change the session; no payment
  // may start until it has (RefreshSession unlocks).
  var form = document.getElementById("pay");
  var submit = document.getElementById("submit");
  function lock(on) {
    if (on) {
      body.setAttribute("data-locked", "true");
    } else {
      body.removeAttribute("data-locked");
    }
    if (slot) {
      buttonDisabled = on;
      showButton();
    }
    if (!form) {
      return;
    }
    var els = form.querySelectorAll("input, button");
    for (var i = 0; i < els.length; i++) {
      els[i].disabled = on;
    }
  }

  // client_side_validation=true: the merchant's onValidateSession checks
  // the order before the card is sent. No answer in time, or a refusal,
  // and nothing is paid; the server checks the form as always.
  var validating = null; // the pending check's timer
  var validated = false;
  function endValidation() {
    window.clearTimeout(validating);
    validating = null;
    say("");
    if (submit) {
      submit.disabled = false;
    }
  }
  if (form) {
    form.addEventListener("submit", function (e) {
      if (body.getAttribute("data-locked") === "true") {
        e.preventDefault();
        return;
      }
      if (!d.validate_ms || validated) {
        return;
      }
      e.preventDefault();
      if (validating !== null) {
        return;
      }
      fail("");
      say(texts.validating);
      if (submit) {
        submit.disabled = true;
      }
      validating = window.setTimeout(function () {
        endValidation();
        fail(texts.validation_timeout);
      }, d.validate_ms);
      post({ type: "ValidateSession", session: d.session });
    });
  }
  function validationResult(m) {
    if (slot) { // the pop-out flow: the SDK checked the order for the window
      if (m.success === true) {
        fail("");
        say(texts.opened);
      } else {
        say("");
        fail(typeof m.clientValidationError === "string" && m.clientValidationError ? m.clientValidationError : texts.validation_failed);
      }
      return;
    }
    if (validating === null || !form) {
      return; // no check asked for: nothing to go on with
    }
    endValidation();
    if (m.success === true) {
      validated = true;
      if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.submit();
      }
      return;
    }
    fail(typeof m.clientValidationError === "string" && m.clientValidationError ? m.clientValidationError : texts.validation_failed);
  }

  // After the window closed: if it got somewhere (paid, processing,
  // cancelled), this page shows it, and posts the final event if due.
  function afterPopOut() {
    var id = body.getAttribute("data-session");
    if (!id) {
      return;
    }
    fetch("/checkout/" + encodeURIComponent(id) + "/status", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.state && s.state !== "form") {
          window.location.reload();
        }
      })
      .catch(function () { /* the page stays as it is */ });
  }

  function setLanguage(lang) {
    if (typeof lang !== "string" || lang === d.language || !/^[a-z]{2}$/.test(lang)) {
      return;
    }
    var u = new URL(window.location.href);
    u.searchParams.set("language", lang);
    window.location.replace(u.toString());
  }

  function lockID() {
    var b = new Uint8Array(12);
    window.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  window.addEventListener("message", function (e) {
    if (e.source !== sdk || origins.indexOf(e.origin) < 0) {
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
      if (popOut) { // the iframe answers; the window only stops taking payments
        lock(d.state === "form");
      } else if (d.state === "form") {
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
            if (!popOut) {
              post({ type: "SessionNotFound" });
            }
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
            if (!popOut) {
              post({ type: "SessionUpdated", session: s });
            }
          }
        })
        .catch(function () { /* the SDK's promise stays pending; a later refresh may succeed */ });
      break;
    case "ValidationResult":
      validationResult(m);
      break;
    case "ValidatingPopOut":
      fail("");
      say(texts.validating);
      break;
    case "OpenedPopOut":
      fail("");
      say(texts.opened);
      body.setAttribute("data-pop-out", "open");
      break;
    case "OpenPopOutFailed":
      say("");
      fail(texts.failed);
      body.setAttribute("data-pop-out", "failed");
      break;
    case "ClosedPopOut":
      say("");
      body.setAttribute("data-pop-out", "closed");
      afterPopOut();
      break;
    case "SetLanguage":
      setLanguage(m.language);
      break;
    }
  });
  showButton();
})();
