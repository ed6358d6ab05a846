// The forgeauth demo page: plain JavaScript, no build step.
//
// The access token is kept in this closure only, never in storage: a
// reload asks /auth/refresh for a new one, which the HttpOnly refresh
// cookie authenticates. Sections carry data-requires="<path>" and show
// only when the server's OpenAPI document has that path, so that a
// feature the server does not serve never appears, and a new feature's
// section slots in by naming its path.
"use strict";
(() => {
  const API = "/web/api/v1";
  let access = null;      // the access token, in memory only
  let refreshing = null;  // the refresh in flight, shared by every caller
  let renewTimer = 0;

  const $ = (id) => document.getElementById(id);

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
  // With auth it sends the access token and, on a 401, refreshes once and
  // tries again.
  async function call(method, path, body, auth) {
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
    if (res.status === 401 && auth && (await refresh())) {
      return call(method, path, body, false);
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
  }

  async function showSignedIn() {
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
      if (!res.ok) {
        fail(res.body || {});
        return;
      }
      access = res.body.access_token;
      scheduleRenewal(res.body.expires_in);
      e.target.reset();
      say("Signed in.");
      await showSignedIn();
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
  // whether someone is signed in now.
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
    let paths = {};
    try {
      const res = await fetch(API + "/openapi.json", { credentials: "same-origin" });
      if (res.ok) paths = (await res.json()).paths || {};
    } catch (e) {
      // Without the document every section stays: the API answers 404 for
      // what is missing.
      return;
    }
    for (const el of document.querySelectorAll("[data-requires]")) {
      el.hidden = !(el.dataset.requires in paths);
    }
  }

  async function boot() {
    wire();
    await features();
    await loadProviders();
    if ((await providerReturn()) || (await refresh())) {
      await showSignedIn();
    } else {
      showSignedOut();
    }
    document.body.dataset.ready = "true";
  }

  boot();
})();
