// mfa-gateway: security keys and passkeys (WebAuthn). The one script of the gateway, served
// as /static/webauthn.js to the pages that need it (their CSP allows script-src 'self').
//
// A page has one <form data-webauthn="create|get" data-options="{...}"> whose options come
// from the server (webauthn-rs JSON: binary values in base64url). A click on its button
// #webauthn-start asks the browser for the key; the answer goes, as JSON with base64url
// binary values, into the form's hidden field "response", and the form (with its CSRF
// token) is posted. Without JavaScript the page says what to do instead.
"use strict";

(function () {
  function fromB64url(s) {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    const pad = b64.length % 4 === 0 ? "" : "=".repeat(4 - (b64.length % 4));
    const bin = atob(b64 + pad);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    const bytes = new Uint8Array(buf);
    let bin = "";
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(o) {
    const pk = Object.assign({}, o.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: fromB64url(pk.user.id) });
    if (pk.excludeCredentials) {
      pk.excludeCredentials = pk.excludeCredentials.map(function (c) {
        return Object.assign({}, c, { id: fromB64url(c.id) });
      });
    }
    return { publicKey: pk };
  }

  function requestOptions(o) {
    const pk = Object.assign({}, o.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    if (pk.allowCredentials) {
      pk.allowCredentials = pk.allowCredentials.map(function (c) {
        return Object.assign({}, c, { id: fromB64url(c.id) });
      });
    }
    return { publicKey: pk, mediation: o.mediation || undefined };
  }

  function extensions(cred) {
    try {
      const ext = cred.getClientExtensionResults();
      return ext && ext.credProps ? { credProps: ext.credProps } : {};
    } catch (e) {
      return {};
    }
  }

  function created(cred) {
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
        transports: typeof r.getTransports === "function" ? r.getTransports() : undefined,
      },
      extensions: extensions(cred),
    };
  }

  function asserted(cred) {
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null,
      },
      extensions: {},
    };
  }

  function start(form, button, error) {
    const mode = form.getAttribute("data-webauthn");
    let options;
    try {
      options = JSON.parse(form.getAttribute("data-options"));
    } catch (e) {
      error.textContent = "This page is damaged. Go back and try again.";
      error.hidden = false;
      return;
    }
    button.disabled = true;
    error.hidden = true;
    const ask =
      mode === "create"
        ? navigator.credentials.create(creationOptions(options)).then(created)
        : navigator.credentials.get(requestOptions(options)).then(asserted);
    ask
      .then(function (answer) {
        form.querySelector("input[name=response]").value = JSON.stringify(answer);
        form.submit();
      })
      .catch(function () {
        button.disabled = false;
        error.textContent =
          "The security key did not answer, or the request was cancelled. Try again, or go back and use a code.";
        error.hidden = false;
      });
  }

  function init() {
    const form = document.querySelector("form[data-webauthn]");
    if (!form) return;
    const button = document.getElementById("webauthn-start");
    const error = document.getElementById("webauthn-error");
    const unsupported = document.getElementById("webauthn-unsupported");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      if (unsupported) unsupported.hidden = false;
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      start(form, button, error);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
