package httpauth

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/forgeauth/forgeauth/auth"
)

// oauthCookie binds a provider flow to the browser that began it: signed,
// short-lived, HttpOnly, Secure, and SameSite=Lax so that the provider's
// top-level redirect back to the callback carries it. The __Host- prefix
// keeps it to this host and path "/".
const oauthCookie = "__Host-forgeauth-oauth"

// providerRoutes are the routes of sign-in with other providers (Complete
// mode). Without a configured provider they answer 404.
func (h *Handler) providerRoutes() []route {
	return []route{
		{method: "GET", path: "/auth/oauth/providers", serve: h.oauthProviders},
		{method: "GET", path: "/auth/oauth/{provider}/authorize", limited: true, serve: h.oauthAuthorize},
		{method: "GET", path: "/auth/oauth/{provider}/callback", limited: true, serve: h.oauthCallback},
		{method: "POST", path: "/auth/oauth/exchange", limited: true, serve: h.oauthExchange},
		{method: "POST", path: "/auth/oauth/{provider}/link", limited: true, bearer: true, serve: h.oauthLink},
		{method: "GET", path: "/auth/identities", bearer: true, serve: h.identities},
		{method: "DELETE", path: "/auth/identities/{id}", bearer: true, serve: h.unlinkIdentity},
	}
}

// providerErr answers an error of the provider flows: no provider at all
// is no such endpoint.
func (h *Handler) providerErr(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, auth.ErrNotEnabled) {
		err = errRouteNotFound
	}
	h.writeError(w, r, err)
}

// providerName is the {provider} of the path, or "" when it is no text a
// provider name can be.
func providerName(r *http.Request) string {
	p := r.PathValue("provider")
	if len(p) > maxDeviceRunes || !isText(p) {
		return ""
	}
	return p
}

// GET /auth/oauth/providers: 200 with the configured provider names, for
// a page's "Continue with ..." buttons.
func (h *Handler) oauthProviders(w http.ResponseWriter, r *http.Request) {
	names := h.svc.OAuthProviders()
	if names == nil {
		names = []string{}
	}
	h.writeJSON(w, r, http.StatusOK, providersJSON{Providers: names})
}

type providersJSON struct {
	Providers []string `json:"providers"`
}

// setFlowCookie sets the cookie of a flow that begins.
func setFlowCookie(w http.ResponseWriter, start auth.OAuthStart) {
	http.SetCookie(w, &http.Cookie{
		Name: oauthCookie, Value: start.Cookie, Path: "/",
		MaxAge: int(start.CookieMaxAge / time.Second), HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	})
}

// GET /auth/oauth/{provider}/authorize?redirect_uri=...: 302 to the
// provider. A redirect_uri outside the configured list is 400, before any
// redirect.
func (h *Handler) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q["redirect_uri"]) != 1 {
		h.providerErr(w, r, auth.ErrRedirectURI)
		return
	}
	start, err := h.svc.BeginOAuth(r.Context(), providerName(r), q.Get("redirect_uri"))
	if err != nil {
		h.providerErr(w, r, err)
		return
	}
	setFlowCookie(w, start)
	http.Redirect(w, r, start.URL, http.StatusFound)
}

// GET /auth/oauth/{provider}/callback: 302 to the application's
// redirect_uri with #code=, #linked= or #error=; 400 invalid_state when the
// state names no flow (there is nowhere safe to go).
func (h *Handler) oauthCallback(w http.ResponseWriter, r *http.Request) {
	q, _ := url.ParseQuery(r.URL.RawQuery) // a bad query is a missing state
	if q.Get("state") == "" {
		h.writeError(w, r, auth.ErrInvalidState)
		return
	}
	var cookie string
	if c, err := r.Cookie(oauthCookie); err == nil {
		cookie = c.Value
	}
	res, err := h.svc.FinishOAuth(r.Context(), providerName(r), cookie, q.Get("state"), q.Get("code"), q.Get("error"), h.client(r, "", ""))
	if err != nil {
		h.providerErr(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oauthCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Location", res.RedirectURI+"#"+res.Fragment())
	w.WriteHeader(http.StatusFound)
}

// POST /auth/oauth/exchange: 200 with the tokens of a provider sign-in.
func (h *Handler) oauthExchange(w http.ResponseWriter, r *http.Request) {
	var code string
	var d device
	if err := h.decodeBody(w, r, acceptJSON, append([]field{
		{name: "code", required: true, dst: &code},
	}, d.fields(false)...)); err != nil {
		h.writeError(w, r, err)
		return
	}
	t, err := h.svc.ExchangeOAuthCode(r.Context(), code, h.deviceClient(r, d))
	if err != nil {
		h.providerErr(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newTokenJSON(t))
}

// POST /auth/oauth/{provider}/link (bearer): 200 with the URL to send the
// browser to; the flow cookie is set on this answer, so the browser that
// follows the URL must be the one that asked.
func (h *Handler) oauthLink(w http.ResponseWriter, r *http.Request) {
	var current, redirectURI string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "current_password", required: true, dst: &current},
		{name: "redirect_uri", required: true, dst: &redirectURI},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	start, err := h.svc.LinkOAuth(r.Context(), identity(r), providerName(r), current, redirectURI, h.client(r, "", ""))
	if err != nil {
		h.providerErr(w, r, err)
		return
	}
	setFlowCookie(w, start)
	h.writeJSON(w, r, http.StatusOK, linkJSON{AuthorizeURL: start.URL})
}

type linkJSON struct {
	AuthorizeURL string `json:"authorize_url"`
}

type identityJSON struct {
	ID        string `json:"id"`
	Provider  string `json:"provider"`
	Email     string `json:"email"`
	CreatedAt string `json:"created_at"`
}

// GET /auth/identities (bearer): 200 with the user's provider identities.
func (h *Handler) identities(w http.ResponseWriter, r *http.Request) {
	list, err := h.svc.Identities(r.Context(), identity(r))
	if err != nil {
		h.providerErr(w, r, err)
		return
	}
	out := make([]identityJSON, len(list))
	for i, id := range list {
		out[i] = identityJSON{ID: id.ID, Provider: id.Provider, Email: id.Email, CreatedAt: id.CreatedAt.UTC().Format(time.RFC3339)}
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// DELETE /auth/identities/{id} (bearer): 204; 409 last_login_method.
func (h *Handler) unlinkIdentity(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if len(id) > maxDeviceRunes || !isText(id) {
		h.writeError(w, r, auth.ErrNotFound)
		return
	}
	if err := h.svc.UnlinkIdentity(r.Context(), identity(r), id, h.client(r, "", "")); err != nil {
		h.providerErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
