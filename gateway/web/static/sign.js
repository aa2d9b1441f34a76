// Signing a hand-over with the official's own key, in the browser, as NCALayer does in
// production (gateway/web/templates/_sign.html renders the widget).
//
// The form carries the exact bytes to sign, base64, in data-sign-bytes (the server's
// canonical form of the statement). On submit the chosen PKCS#8 key signs them with
// WebCrypto (RSASSA-PKCS1-v1_5, SHA-256); the signature is checked here against the
// chosen certificate's public key, so a key and certificate that are not a pair are
// caught before anything is sent; then the hidden signature_* inputs are filled and the
// form goes on. The key file's input has no name: the key never leaves the computer.
(function () {
  "use strict";

  if (window.__gatewaySign) return; // the widget may be rendered more than once
  window.__gatewaySign = true;

  var ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

  function Failure(code) { this.code = code; }

  function fromBase64(text) {
    var raw = atob(text.replace(/\s+/g, ""));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function toBase64(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw);
  }

  // The DER inside the first PEM block with this label, or null.
  function pemBlock(text, label) {
    var re = new RegExp("-----BEGIN " + label + "-----([A-Za-z0-9+/=\\s]+)-----END " + label + "-----");
    var match = re.exec(text);
    if (!match) return null;
    try { return fromBase64(match[1]); } catch (e) { return null; }
  }

  function toPem(der, label) {
    var body = toBase64(der).replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
    return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
  }

  // One DER element at `at`: its tag, where its content starts and where it ends.
  function element(bytes, at) {
    if (at + 2 > bytes.length) throw new Failure("cert");
    var tag = bytes[at];
    var length = bytes[at + 1];
    var start = at + 2;
    if (length & 0x80) {
      var count = length & 0x7f;
      if (count < 1 || count > 4) throw new Failure("cert");
      length = 0;
      for (var i = 0; i < count; i++) length = length * 256 + bytes[start + i];
      start += count;
    }
    if (start + length > bytes.length) throw new Failure("cert");
    return { tag: tag, start: start, end: start + length };
  }

  // SubjectPublicKeyInfo of an X.509 certificate (RFC 5280 §4.1): tbsCertificate's
  // seventh field, after the optional [0] version, serial, signature, issuer,
  // validity and subject.
  function publicKeyInfo(der) {
    var certificate = element(der, 0);
    var tbs = element(der, certificate.start);
    if (certificate.tag !== 0x30 || tbs.tag !== 0x30) throw new Failure("cert");
    var at = tbs.start;
    if (element(der, at).tag === 0xa0) at = element(der, at).end;
    for (var skip = 0; skip < 5; skip++) at = element(der, at).end;
    var spki = element(der, at);
    if (spki.tag !== 0x30) throw new Failure("cert");
    return der.slice(at, spki.end);
  }

  function readFile(input) {
    var file = input && input.files && input.files[0];
    if (!file) return Promise.reject(new Failure("files"));
    return file.text();
  }

  function sign(form, widget) {
    var subtle = window.crypto && window.crypto.subtle;
    if (!subtle) return Promise.reject(new Failure("unsupported"));
    var data = fromBase64(form.getAttribute("data-sign-bytes") || "");
    return Promise.all([
      readFile(widget.querySelector("[data-sign-key]")),
      readFile(widget.querySelector("[data-sign-cert]"))
    ]).then(function (texts) {
      var keyDer = pemBlock(texts[0], "PRIVATE KEY");
      var certDer = pemBlock(texts[1], "CERTIFICATE");
      if (!keyDer) throw new Failure("key");
      if (!certDer) throw new Failure("cert");
      var spki = publicKeyInfo(certDer);
      return Promise.all([
        subtle.importKey("pkcs8", keyDer, ALGORITHM, false, ["sign"])
          .catch(function () { throw new Failure("key"); }),
        subtle.importKey("spki", spki, ALGORITHM, false, ["verify"])
          .catch(function () { throw new Failure("cert"); })
      ]).then(function (keys) {
        return subtle.sign(ALGORITHM, keys[0], data).then(function (signature) {
          return subtle.verify(ALGORITHM, keys[1], signature, data).then(function (ok) {
            if (!ok) throw new Failure("mismatch");
            return { value: toBase64(signature), certificate: toPem(certDer, "CERTIFICATE") };
          });
        });
      });
    });
  }

  function fill(widget, values) {
    widget.querySelector("input[name=signature_value]").value = values ? values.value : "";
    widget.querySelector("input[name=signature_certificate]").value = values ? values.certificate : "";
    widget.querySelector("input[name=signature_algorithm]").value =
      values ? widget.getAttribute("data-sign-algorithm") || "" : "";
  }

  function say(widget, key, kind) {
    var status = widget.querySelector("[data-sign-status]");
    if (!status) return;
    status.textContent = key ? widget.getAttribute("data-msg-" + key) || "" : "";
    status.className = kind || "";
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-sign-bytes")) return;
    var widget = form.querySelector("[data-sign-widget]");
    if (!widget || form.getAttribute("data-signed") === "1") return; // signed: let it go
    event.preventDefault();
    if (form.getAttribute("data-signing") === "1") return;
    var submitter = event.submitter && event.submitter.form === form ? event.submitter : null;
    form.setAttribute("data-signing", "1");
    say(widget, "working");
    sign(form, widget).then(function (values) {
      fill(widget, values);
      form.setAttribute("data-signed", "1");
      say(widget, "done", "flash");
      if (form.requestSubmit) form.requestSubmit(submitter || undefined);
      else form.submit();
    }, function (error) {
      fill(widget, null);
      say(widget, error instanceof Failure ? error.code : "unsupported", "alert");
    }).then(function () {
      form.removeAttribute("data-signing");
    });
  });

  // Another file chosen: the signature made with the old one is void.
  document.addEventListener("change", function (event) {
    var input = event.target;
    var widget = input && input.closest && input.closest("[data-sign-widget]");
    if (!widget) return;
    fill(widget, null);
    say(widget, null);
    if (widget.form) widget.form.removeAttribute("data-signed");
  });

  // Back to the page from the history: sign again rather than resend an old signature.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-signed]").forEach(function (form) {
      form.removeAttribute("data-signed");
      var widget = form.querySelector("[data-sign-widget]");
      if (widget) fill(widget, null);
    });
  });
})();
