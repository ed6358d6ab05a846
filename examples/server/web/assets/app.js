// The forgeauth demo page: plain JavaScript, no build step.
//
// The access token is kept in this closure only, never in storage: a
// reload asks /auth/refresh for a new one, which the HttpOnly refresh
// cookie authenticates. Sections carry data-requires="<path>" and show
// only when the server's OpenAPI document has that path, so that a
// feature the server does not serve never appears, and a new feature's
// section slots in by naming its path; a section marked data-webauthn
// shows only where the browser has passkeys (WebAuthn) too.
"use strict";
(() => {
  const API = "/web/api/v1";
  let access = null;      // the access token, in memory only
  let refreshing = null;  // the refresh in flight, shared by every caller
  let renewTimer = 0;
  let served = null;      // the paths of the API, from its OpenAPI document; null when unknown
  let mfa = null;         // the second step of a sign-in: {token, methods}
  let autofill = null;    // the pending passkey autofill request: {controller, done}
  let autofillEnded = Promise.resolve(); // the end of the last autofill request aborted
  let passkeyEmail = "";  // the address of an account just made with a passkey

  const $ = (id) => document.getElementById(id);

  // The browser's passkey support: the JSON forms of WebAuthn's options and
  // credentials (WebAuthn Level 3) spare this page any base64url code.
  const webauthn = Boolean(window.PublicKeyCredential && navigator.credentials &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.prototype.toJSON === "function");

  // servedWithPasskeys reports whether the browser has passkeys and the
  // server serves path.
  function servedWithPasskeys(path) {
    return webauthn && (served === null || path in served);
  }

  function say(text) {
    $("error").textContent = "";
    $("status").textContent = text;
  }

  function fail(problem) {
    let text = problem.detail || "Something went wrong.";
    if (Array.isArray(problem.errors) && problem.errors.length) {
      text += " " + problem.errors.map((e) => e.message).join(" ");
    }
    $("status").textContent = "";
    $("error").textContent = text;
  }

  // call sends a request to the cookie API and returns {ok, status, body}.
  // With auth it sends the access token and, when the server refuses the
  // token (a 401 with WWW-Authenticate), refreshes once and tries again
  // with the new token (retried marks that second try). Other 401s, such
  // as a wrong current password, are answers to give the user: sending
  // them again would only count another failure.
  async function call(method, path, body, auth, retried) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && access) headers["Authorization"] = "Bearer " + access;
    let res;
    try {
      res = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (e) {
      return { ok: false, status: 0, body: { detail: "The server cannot be reached." } };
    }
    if (res.status === 401 && auth && !retried && res.headers.has("WWW-Authenticate") && (await refresh())) {
      return call(method, path, body, true, true);
    }
    let data = null;
    const type = res.headers.get("Content-Type") || "";
    if (type.includes("json")) data = await res.json();
    return { ok: res.ok, status: res.status, body: data };
  }

  // refresh trades the refresh cookie for a new access token; it reports
  // whether the session is alive.
  function refresh() {
    if (!refreshing) {
      refreshing = (async () => {
        let res;
        try {
          res = await fetch(API + "/auth/refresh", { method: "POST", credentials: "same-origin" });
        } catch (e) {
          return false;
        }
        if (!res.ok) {
          access = null;
          return false;
        }
        const t = await res.json();
        access = t.access_token;
        scheduleRenewal(t.expires_in);
        return true;
      })().finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  // scheduleRenewal refreshes a little before the access token expires.
  function scheduleRenewal(expiresIn) {
    clearTimeout(renewTimer);
    const ms = Math.max(5, expiresIn - 30) * 1000;
    renewTimer = setTimeout(async () => {
      if (!(await refresh())) ended();
    }, ms);
  }

  function ended() {
    access = null;
    showSignedOut();
    say("Your session has ended. Please sign in again.");
  }

  function showSignedOut() {
    clearTimeout(renewTimer);
    $("signed-in").hidden = true;
    $("signed-out").hidden = false;
    document.body.dataset.state = "signed-out";
    delete document.body.dataset.signin;
    delete document.body.dataset.passkeys;
    resetTOTP();
    startAutofill();
  }

  async function showSignedIn() {
    await stopAutofill();
    hideMFA();
    const me = await call("GET", "/users/me", undefined, true);
    if (!me.ok) {
      ended();
      return;
    }
    $("me-username").textContent = me.body.username;
    $("me-email").textContent = me.body.email;
    $("signed-out").hidden = true;
    $("signed-in").hidden = false;
    document.body.dataset.state = "signed-in";
    await loadDevices();
    await loadPasskeys();
    await loadTOTP();
  }

  // signedIn keeps the tokens of a finished sign-in and shows the account;
  // how ("password", "passkey", ...) is left on the body for tests.
  async function signedIn(t, how, text) {
    access = t.access_token;
    scheduleRenewal(t.expires_in);
    document.body.dataset.signin = how;
    say(text);
    await showSignedIn();
  }

  // loginAnswer takes the answer of any sign-in route: the tokens, the
  // second step of an account with a second factor, or a problem. It
  // reports whether someone is signed in now.
  async function loginAnswer(res, how, text) {
    const p = res.body || {};
    if (res.ok) {
      await signedIn(p, how, text);
      return true;
    }
    if (res.status === 403 && p.code === "mfa_required" && p.mfa_token) {
      showMFA(p);
      return false;
    }
    if (how.startsWith("passkey") && p.code === "invalid_credentials") {
      // The answer is the password's, which names no passkey.
      fail({ detail: "This passkey is not registered here: it may have been removed from its account." });
      return false;
    }
    fail(p);
    return false;
  }

  // The second step: after a password (or a provider) an account with a
  // second factor gets a single-use mfa_token and the methods it may use.
  function showMFA(p) {
    stopAutofill();
    mfa = { token: p.mfa_token, methods: Array.isArray(p.methods) ? p.methods : [] };
    const codes = mfa.methods.includes("totp") || mfa.methods.includes("recovery_code");
    $("mfa-code-field").hidden = !codes;
    $("mfa-verify").hidden = !codes;
    $("mfa-passkey").hidden = !(mfa.methods.includes("passkey") && servedWithPasskeys("/auth/passkeys/login/begin"));
    $("mfa-section").hidden = false;
    $("signed-out").dataset.step = "mfa";
    say("One more step: your account has a second factor.");
    (codes ? $("mfa-code") : $("mfa-passkey")).focus();
  }

  function hideMFA() {
    mfa = null;
    $("mfa-form").reset();
    $("mfa-section").hidden = true;
    delete $("signed-out").dataset.step;
  }

  // mfaAnswer takes the answer of the second step. A dead mfa_token (used,
  // expired, or too many wrong codes) sends the user back to the start.
  async function mfaAnswer(res, how) {
    const p = res.body || {};
    if (res.status === 401 && p.code === "invalid_token") {
      hideMFA();
      fail({ detail: "That sign-in took too long or had too many wrong codes. Please sign in again." });
      startAutofill();
      return;
    }
    await loginAnswer(res, how, "Signed in.");
  }

  // passkeyError says what went wrong in the browser's part of a ceremony.
  function passkeyError(e) {
    switch (e && e.name) {
      case "NotAllowedError":
        return "The passkey request was cancelled or timed out.";
      case "InvalidStateError":
        return "This device already holds a passkey for this account.";
      case "SecurityError":
        return "This page's address does not match the server's passkey settings (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS).";
      case "AbortError":
        return "The passkey request was cancelled.";
      default:
        return "The passkey could not be used.";
    }
  }

  // passkeyAssertion runs a sign-in ceremony that the user started: begin
  // with body ({} for any passkey of this site, {mfa_token} for a second
  // step), the browser's dialog, finish. It returns {res}, the answer of
  // begin (when it failed) or of finish, or {error} from the browser.
  async function passkeyAssertion(body) {
    await stopAutofill();
    const begin = await call("POST", "/auth/passkeys/login/begin", body, false);
    if (!begin.ok) return { res: begin };
    let cred;
    try {
      cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begin.body.options) });
    } catch (e) {
      return { error: e };
    }
    const res = await call("POST", "/auth/passkeys/login/finish",
      { ceremony_id: begin.body.ceremony_id, credential: cred.toJSON() }, false);
    return { res };
  }

  // passkeyCreation runs the browser's part of a registration: options as
  // the server's begin gave them, a credential as finish takes it.
  async function passkeyCreation(options) {
    const cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
    return cred.toJSON();
  }

  // Passkey autofill (conditional mediation): while the sign-in form shows,
  // a pending request lets the browser offer this site's passkeys among the
  // username field's suggestions (autocomplete="username webauthn"), and
  // picking one signs in. A browser runs one WebAuthn request at a time, so
  // every flow a button starts first aborts this one and waits for its end.
  function startAutofill() {
    if (autofill || mfa || document.body.dataset.state !== "signed-out" ||
        !servedWithPasskeys("/auth/passkeys/login/begin") ||
        typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") {
      return;
    }
    const controller = new AbortController();
    const run = { controller };
    const previous = autofillEnded;
    autofill = run;
    run.done = (async () => {
      await previous;
      if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
      const begin = await call("POST", "/auth/passkeys/login/begin", {}, false);
      if (!begin.ok || controller.signal.aborted) return;
      const pending = navigator.credentials.get({
        mediation: "conditional",
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begin.body.options),
        signal: controller.signal,
      });
      document.body.dataset.autofill = "waiting";
      let cred;
      try {
        cred = await pending;
      } finally {
        delete document.body.dataset.autofill;
      }
      // A button's flow took over just as the passkey came: it wins.
      if (controller.signal.aborted) return;
      // From here this is a sign-in like any other, no longer abortable.
      autofill = null;
      const res = await call("POST", "/auth/passkeys/login/finish",
        { ceremony_id: begin.body.ceremony_id, credential: cred.toJSON() }, false);
      if (res.status === 400 && res.body && res.body.code === "invalid_code") {
        // The ceremony expired while the page waited: offer passkeys again.
        fail({ detail: "That passkey request expired. Please pick your passkey again." });
        startAutofill();
        return;
      }
      await loginAnswer(res, "passkey-autofill", "Signed in with a passkey.");
    })().catch(() => {
      // Aborted, or refused by the browser: autofill just offers nothing.
    }).finally(() => {
      if (autofill === run) autofill = null;
    });
  }

  // stopAutofill aborts the pending autofill request; what it returns ends
  // when the browser has let go of the last request aborted, which a new
  // ceremony must wait for.
  function stopAutofill() {
    const run = autofill;
    if (run) {
      autofill = null;
      run.controller.abort();
      autofillEnded = run.done;
    }
    return autofillEnded;
  }

  // The passkeys of the signed-in user.
  async function loadPasskeys() {
    if ($("passkeys").closest("[data-requires]").hidden || document.body.dataset.state !== "signed-in") return;
    const res = await call("GET", "/auth/passkeys", undefined, true);
    if (res.status === 401) {
      ended();
      return;
    }
    if (!res.ok) {
      fail(res.body || {});
      return;
    }
    $("passkeys").replaceChildren(...res.body.map(passkeyItem));
    $("passkeys-empty").hidden = res.body.length > 0;
    document.body.dataset.passkeys = String(res.body.length);
  }

  function when(t) {
    return new Date(t).toLocaleString();
  }

  function passkeyItem(p) {
    const li = document.createElement("li");
    li.dataset.passkeyId = p.id;
    const name = document.createElement("strong");
    name.className = "name";
    name.textContent = p.name || "Passkey";
    li.append(name);
    if (p.backed_up) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "synced";
      badge.title = "Backed up: your devices share this passkey through their password manager.";
      li.append(badge);
    }
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = [
      "added " + when(p.created_at),
      p.last_used_at ? "last used " + when(p.last_used_at) : "not used yet",
      p.backed_up ? "" : "on one device only",
    ].filter(Boolean).join(" · ");
    li.append(meta);
    const actions = document.createElement("div");
    actions.className = "row actions";
    const rename = document.createElement("button");
    rename.type = "button";
    rename.className = "secondary";
    rename.textContent = "Rename";
    rename.setAttribute("aria-label", "Rename passkey " + name.textContent);
    rename.addEventListener("click", () => renameForm(li, actions, p));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "danger";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", "Remove passkey " + name.textContent);
    remove.addEventListener("click", async () => {
      remove.disabled = true;
      try {
        await removePasskey(p);
      } finally {
        remove.disabled = false;
      }
    });
    actions.append(rename, remove);
    li.append(actions);
    return li;
  }

  let renames = 0;

  // renameForm puts a form for the passkey's new name in place of its
  // buttons.
  function renameForm(li, actions, p) {
    const f = document.createElement("form");
    f.className = "rename";
    f.noValidate = true;
    const id = "passkey-rename-" + ++renames;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = "New name";
    const input = document.createElement("input");
    input.id = id;
    input.name = "name";
    input.value = p.name || "";
    input.maxLength = 64;
    input.required = true;
    input.autocomplete = "off";
    const row = document.createElement("div");
    row.className = "row actions";
    const save = document.createElement("button");
    save.type = "submit";
    save.textContent = "Save";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => {
      f.replaceWith(actions);
      actions.querySelector("button").focus();
    });
    row.append(save, cancel);
    f.append(label, input, row);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      save.disabled = true;
      try {
        const res = await call("PATCH", "/auth/passkeys/" + encodeURIComponent(p.id), { name: input.value.trim() }, true);
        if (res.status === 401) {
          ended();
          return;
        }
        if (!res.ok) {
          fail(res.body || {});
          return;
        }
        say("Passkey renamed to " + res.body.name + ".");
        await loadPasskeys();
      } finally {
        save.disabled = false;
      }
    });
    actions.replaceWith(f);
    input.focus();
    input.select();
  }

  async function removePasskey(p) {
    const res = await call("DELETE", "/auth/passkeys/" + encodeURIComponent(p.id), undefined, true);
    if (res.status === 401) {
      ended();
      return;
    }
    if (res.status === 409 && res.body && res.body.code === "last_login_method") {
      fail({ detail: "This passkey is your only way to sign in, so it stays. Add another passkey first, then remove this one." });
      return;
    }
    if (!res.ok) {
      fail(res.body || {});
      return;
    }
    say("Passkey removed.");
    await loadPasskeys();
  }

  // Two-step verification with TOTP: its status, the setup (the current
  // password, then the QR code or the key, then a first code from the app),
  // and once it is on, new recovery codes or turning it off (the password
  // and a code). The state is left on the body for tests: data-totp is
  // "off", "pending" (a setup waits for its first code) or "on".

  // sessionGone reports whether an answer means the session has ended: a
  // 401 other than a wrong current password, which is a 401 too.
  function sessionGone(res) {
    return res.status === 401 && !(res.body && res.body.code === "invalid_password");
  }

  async function loadTOTP() {
    if ($("totp-section").hidden || document.body.dataset.state !== "signed-in") return;
    const res = await call("GET", "/auth/mfa", undefined, true);
    if (sessionGone(res)) {
      ended();
      return;
    }
    if (!res.ok) {
      fail(res.body || {});
      return;
    }
    const st = res.body;
    const pending = !st.totp_enabled && !$("totp-enrol").hidden;
    if (st.totp_enabled) hideEnrol();
    let text = "Off: your password alone signs you in.";
    if (st.totp_enabled) {
      const left = st.recovery_codes_left;
      text = "On: a sign-in asks for a code after your password. " +
        (left === 0 ? "No recovery codes left: make new ones now." :
          left === 1 ? "1 recovery code left: make new ones soon." :
            left + " recovery codes left." + (left <= 3 ? " Make new ones soon." : ""));
    }
    $("totp-state").textContent = text;
    $("totp-setup-form").hidden = st.totp_enabled || pending;
    $("totp-manage-form").hidden = !st.totp_enabled;
    document.body.dataset.totp = st.totp_enabled ? "on" : pending ? "pending" : "off";
  }

  // totpFail shows a refused TOTP request. When the factor was turned on or
  // off elsewhere meanwhile (another tab, another device), the section
  // shows what is true now.
  async function totpFail(p) {
    fail(p);
    if (p.code === "mfa_already_enabled" || p.code === "mfa_not_enabled") {
      hideEnrol();
      await loadTOTP();
    }
  }

  // showEnrol shows the new secret: the QR code (a data: URL, which the
  // page's img-src allows) and the key for typing, in groups of four.
  function showEnrol(s) {
    hideCodes();
    const qr = $("totp-qr");
    qr.hidden = !(typeof s.qr_png === "string" && s.qr_png.startsWith("data:image/png;base64,"));
    qr.src = qr.hidden ? "" : s.qr_png;
    $("totp-secret").textContent = s.secret.replace(/(.{4})(?=.)/g, "$1 ");
    $("totp-setup-form").hidden = true;
    $("totp-enrol").hidden = false;
    document.body.dataset.totp = "pending";
    say("Add the key to your authenticator app, then type the code it shows.");
    $("totp-confirm-code").focus();
  }

  // hideEnrol takes the secret off the page.
  function hideEnrol() {
    $("totp-enrol").hidden = true;
    $("totp-confirm-form").reset();
    $("totp-qr").removeAttribute("src");
    $("totp-secret").textContent = "";
  }

  // showCodes shows recovery codes, which the server gives this once.
  function showCodes(codes) {
    $("totp-codes-list").replaceChildren(...codes.map((c) => {
      const li = document.createElement("li");
      li.textContent = c;
      return li;
    }));
    $("totp-codes").hidden = false;
    $("totp-codes").focus();
  }

  function hideCodes() {
    $("totp-codes").hidden = true;
    $("totp-codes-list").replaceChildren();
  }

  // resetTOTP clears the section when the user signs out: no secret and no
  // recovery code stays in the page.
  function resetTOTP() {
    hideEnrol();
    hideCodes();
    $("totp-setup-form").reset();
    $("totp-manage-form").reset();
    $("totp-state").textContent = "";
    delete document.body.dataset.totp;
  }

  // codeField reads a field that takes a TOTP code or a recovery code: six
  // digits, spaces left out, are a TOTP code; anything else goes as typed.
  function codeField(value) {
    const digits = value.replace(/\s/g, "");
    return /^[0-9]{6}$/.test(digits) ? digits : value.trim();
  }

  async function loadDevices() {
    if ($("devices").closest("[data-requires]").hidden) return;
    const res = await call("GET", "/auth/devices", undefined, true);
    if (res.status === 401) {
      ended();
      return;
    }
    if (!res.ok) {
      fail(res.body || {});
      return;
    }
    const list = $("devices");
    list.replaceChildren();
    for (const d of res.body) {
      const li = document.createElement("li");
      li.dataset.device = d.id;
      const name = document.createElement("strong");
      name.textContent = d.device_name || "Unknown device";
      li.append(name);
      if (d.current) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = "this device";
        li.append(badge);
      }
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = [d.device_type, d.ip_address, "last used " + new Date(d.last_used_at).toLocaleString()]
        .filter(Boolean).join(" · ");
      li.append(meta);
      const revoke = document.createElement("button");
      revoke.type = "button";
      revoke.className = "danger";
      revoke.textContent = "Revoke";
      revoke.setAttribute("aria-label", "Revoke " + name.textContent + (d.current ? " (this device)" : ""));
      revoke.addEventListener("click", () => revokeDevice(d));
      li.append(revoke);
      list.append(li);
    }
    document.body.dataset.devices = String(res.body.length);
  }

  async function revokeDevice(d) {
    const res = await call("DELETE", "/auth/devices/" + encodeURIComponent(d.id), undefined, true);
    if (!res.ok) {
      fail(res.body || {});
      return;
    }
    if (d.current) {
      ended();
      return;
    }
    say("Device signed out.");
    await loadDevices();
  }

  // form reads a form's named inputs into an object.
  function form(el) {
    return Object.fromEntries(new FormData(el).entries());
  }

  function on(id, event, fn) {
    $(id).addEventListener(event, async (e) => {
      e.preventDefault();
      const button = e.submitter || e.currentTarget;
      button.disabled = true;
      try {
        await fn(e);
      } finally {
        button.disabled = false;
      }
    });
  }

  function wire() {
    on("signin-form", "submit", async (e) => {
      const res = await call("POST", "/auth/login", form(e.target), false);
      if (res.ok || mfaRequired(res)) e.target.reset();
      await loginAnswer(res, "password", "Signed in.");
    });

    on("passkey-signin", "click", async () => {
      const r = await passkeyAssertion({});
      if (r.error) {
        fail({ detail: passkeyError(r.error) });
        // Cancelled: the username field offers passkeys again.
        startAutofill();
        return;
      }
      await loginAnswer(r.res, "passkey", "Signed in with a passkey.");
    });

    on("mfa-form", "submit", async () => {
      if (!mfa) return;
      const value = $("mfa-code").value.trim();
      const body = { mfa_token: mfa.token };
      // A TOTP code is six digits; a recovery code is twelve characters.
      if (/^[0-9]{6}$/.test(value.replace(/\s/g, ""))) {
        body.code = value.replace(/\s/g, "");
      } else {
        body.recovery_code = value;
      }
      const res = await call("POST", "/auth/mfa/verify", body, false);
      await mfaAnswer(res, "code" in body ? "totp" : "recovery-code");
    });

    on("mfa-passkey", "click", async () => {
      if (!mfa) return;
      const r = await passkeyAssertion({ mfa_token: mfa.token });
      if (r.error) {
        fail({ detail: passkeyError(r.error) });
        return;
      }
      await mfaAnswer(r.res, "passkey-mfa");
    });

    on("mfa-cancel", "click", async () => {
      hideMFA();
      say("");
      $("signin-username").focus();
      startAutofill();
    });

    on("passkey-signup-form", "submit", async (e) => {
      const data = form(e.target);
      await stopAutofill();
      const begin = await call("POST", "/auth/passkeys/signup/begin", data, false);
      if (!begin.ok) {
        fail(begin.body || {});
        return;
      }
      let credential;
      try {
        credential = await passkeyCreation(begin.body.options);
      } catch (err) {
        fail({ detail: passkeyError(err) });
        return;
      }
      const res = await call("POST", "/auth/passkeys/signup/finish", { ceremony_id: begin.body.ceremony_id, credential }, false);
      if (!res.ok) {
        fail(res.body || {});
        return;
      }
      e.target.reset();
      passkeyEmail = data.email;
      $("verify-email").value = data.email;
      say("Account created with a passkey. We sent a code to " + data.email + ".");
      $("verify-code").focus();
    });

    on("register-form", "submit", async (e) => {
      const data = form(e.target);
      const res = await call("POST", "/auth/register", data, false);
      if (!res.ok) {
        fail(res.body || {});
        return;
      }
      e.target.reset();
      $("verify-email").value = data.email;
      say("Account created. We sent a code to " + data.email + ".");
      $("verify-code").focus();
    });

    on("verify-form", "submit", async (e) => {
      const data = form(e.target);
      const res = await call("POST", "/auth/verify-email", data, false);
      if (!res.ok) {
        fail(res.body || {});
        return;
      }
      $("verify-code").value = "";
      $("signin-username").value = res.body.username;
      if (data.email === passkeyEmail && servedWithPasskeys("/auth/passkeys/login/begin")) {
        say("Email verified. Sign in with your passkey now.");
        $("passkey-signin").focus();
        return;
      }
      say("Email verified. You can sign in now.");
      $("signin-password").focus();
    });

    on("resend", "click", async () => {
      const res = await call("POST", "/auth/resend-verification", { email: $("verify-email").value }, false);
      if (!res.ok) {
        fail(res.body || {});
        return;
      }
      say(res.body.detail);
    });

    on("password-form", "submit", async (e) => {
      const res = await call("POST", "/auth/change-password", form(e.target), true);
      if (!res.ok) {
        fail(res.body || {});
        return;
      }
      e.target.reset();
      // Access tokens issued before the change no longer work; this
      // device's session does, and gives a new one.
      if (!(await refresh())) {
        ended();
        return;
      }
      say("Password changed. Your other devices were signed out.");
      await loadDevices();
    });

    on("signout", "click", async () => {
      await call("POST", "/auth/logout", undefined, false);
      access = null;
      showSignedOut();
      say("Signed out.");
    });

    on("signout-all", "click", async () => {
      const res = await call("POST", "/auth/logout-all", undefined, true);
      if (!res.ok && res.status !== 401) {
        fail(res.body || {});
        return;
      }
      access = null;
      showSignedOut();
      say("Signed out on every device.");
    });

    on("devices-reload", "click", loadDevices);

    on("passkey-add-form", "submit", async (e) => {
      const name = $("passkey-name").value.trim();
      const begin = await call("POST", "/auth/passkeys/register/begin", {}, true);
      if (begin.status === 401) {
        ended();
        return;
      }
      if (!begin.ok) {
        fail(begin.body || {});
        return;
      }
      let credential;
      try {
        credential = await passkeyCreation(begin.body.options);
      } catch (err) {
        fail({ detail: passkeyError(err) });
        return;
      }
      const body = { ceremony_id: begin.body.ceremony_id, credential };
      if (name) body.name = name;
      const res = await call("POST", "/auth/passkeys/register/finish", body, true);
      if (res.status === 401) {
        ended();
        return;
      }
      if (!res.ok) {
        fail(res.body || {});
        return;
      }
      e.target.reset();
      say("Passkey added: " + res.body.name + ".");
      await loadPasskeys();
    });

    on("totp-setup-form", "submit", async (e) => {
      const res = await call("POST", "/auth/mfa/totp/setup", form(e.target), true);
      if (sessionGone(res)) {
        ended();
        return;
      }
      if (!res.ok) {
        await totpFail(res.body || {});
        return;
      }
      e.target.reset();
      showEnrol(res.body);
    });

    on("totp-confirm-form", "submit", async () => {
      const code = $("totp-confirm-code").value.replace(/\s/g, "");
      const res = await call("POST", "/auth/mfa/totp/confirm", { code }, true);
      if (sessionGone(res)) {
        ended();
        return;
      }
      if (!res.ok) {
        await totpFail(res.body || {});
        if (!$("totp-enrol").hidden) $("totp-confirm-code").select();
        return;
      }
      hideEnrol();
      say("Two-step verification is on.");
      showCodes(res.body.recovery_codes);
      await loadTOTP();
    });

    on("totp-enrol-cancel", "click", async () => {
      hideEnrol();
      say("Setup cancelled: two-step verification stays off.");
      await loadTOTP();
      $("totp-setup-password").focus();
    });

    on("totp-codes-done", "click", async () => {
      hideCodes();
      $("totp-title").focus();
    });

    on("totp-manage-form", "submit", async (e) => {
      const data = form(e.target);
      data.code = codeField(data.code);
      const off = Boolean(e.submitter && e.submitter.id === "totp-disable");
      const res = await call("POST", off ? "/auth/mfa/totp/disable" : "/auth/mfa/recovery-codes", data, true);
      if (sessionGone(res)) {
        ended();
        return;
      }
      if (!res.ok) {
        await totpFail(res.body || {});
        return;
      }
      e.target.reset();
      if (off) {
        hideCodes();
        say("Two-step verification is off: your password alone signs you in.");
      } else {
        say("New recovery codes: the old ones no longer work.");
        showCodes(res.body.recovery_codes);
      }
      await loadTOTP();
    });
  }

  function mfaRequired(res) {
    return res.status === 403 && res.body && res.body.code === "mfa_required";
  }

  // Provider sign-in. A button leaves for the server's authorize endpoint,
  // which sends the browser to the provider; the provider's answer comes
  // back to this page as #code=... (exchanged for tokens) or #error=...
  const providerNames = { github: "GitHub", gitlab: "GitLab" };

  function providerLabel(name) {
    if (providerNames[name]) return providerNames[name];
    return name.split(/[-_]/).filter(Boolean)
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");
  }

  // The messages of the #error= codes of a provider flow.
  const providerErrors = {
    account_exists: "An account already uses this email: sign in with your password and link the provider from your account.",
    provider_unavailable: "The provider did not answer in time. Please try again in a moment.",
    access_denied: "Sign-in was cancelled at the provider.",
    provider_error: "The provider reported an error. Please try again.",
    invalid_state: "That sign-in expired or was started in another browser. Please try again.",
    invalid_id_token: "The provider's answer could not be verified. Please try again.",
    email_missing: "The provider did not share a verified email address, which an account here needs.",
    identity_in_use: "That provider account is already linked to another user.",
    inactive_user: "This account is disabled.",
    email_not_verified: "Verify your email address before signing in.",
    server_error: "Something went wrong on our side. Please try again.",
  };

  async function loadProviders() {
    const section = $("providers-section");
    if (section.hidden) return;
    const res = await call("GET", "/auth/oauth/providers", undefined, false);
    const names = res.ok && res.body && Array.isArray(res.body.providers) ? res.body.providers : [];
    const list = $("providers");
    list.replaceChildren();
    for (const name of names) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.dataset.provider = name;
      button.textContent = "Continue with " + providerLabel(name);
      button.addEventListener("click", () => {
        button.disabled = true;
        say("Taking you to " + providerLabel(name) + "...");
        // The page itself is where the flow returns: the server allows
        // exactly this URL.
        location.assign(API + "/auth/oauth/" + encodeURIComponent(name) + "/authorize?redirect_uri=" +
          encodeURIComponent(location.origin + "/"));
      });
      list.append(button);
    }
    section.hidden = names.length === 0;
  }

  // providerReturn handles a page load that ends a provider flow: it takes
  // the fragment out of the address bar (the code works once, and must not
  // stay in history or bookmarks), then exchanges the code. It reports
  // whether someone is signed in now, or returns the mfa_required problem
  // when the account has a second step to take.
  async function providerReturn() {
    const hash = new URLSearchParams(location.hash.slice(1));
    const code = hash.get("code");
    const error = hash.get("error");
    const linked = hash.get("linked");
    if (code === null && error === null && linked === null) return false;
    history.replaceState(null, "", location.pathname + location.search);
    if (error !== null) {
      fail({ detail: providerErrors[error] || "Sign-in with the provider failed (" + error + ")." });
      return false;
    }
    if (code === null) return false;
    const res = await call("POST", "/auth/oauth/exchange", { code }, false);
    if (mfaRequired(res)) {
      return res.body;
    }
    if (!res.ok) {
      fail(res.body || {});
      return false;
    }
    access = res.body.access_token;
    scheduleRenewal(res.body.expires_in);
    say("Signed in.");
    return true;
  }

  // features hides every section whose path the server does not serve.
  async function features() {
    try {
      const res = await fetch(API + "/openapi.json", { credentials: "same-origin" });
      if (res.ok) served = (await res.json()).paths || {};
    } catch (e) {
      // Without the document every section stays: the API answers 404 for
      // what is missing.
    }
    for (const el of document.querySelectorAll("[data-requires]")) {
      el.hidden = (served !== null && !(el.dataset.requires in served)) ||
        ("webauthn" in el.dataset && !webauthn);
    }
  }

  async function boot() {
    wire();
    await features();
    await loadProviders();
    const provider = await providerReturn();
    if (provider === true || (!provider && (await refresh()))) {
      await showSignedIn();
    } else {
      showSignedOut();
      if (provider) showMFA(provider);
    }
    document.body.dataset.ready = "true";
  }

  boot();
})();
