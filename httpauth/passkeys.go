package httpauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store"
)

// passkeyRoutes are the endpoints of passkeys (DESIGN §8), mounted when the
// service has a relying party. The sign-up routes are forgeauth's own: an
// account made with a passkey and no password.
func (h *Handler) passkeyRoutes() []route {
	return []route{
		{method: "POST", path: "/auth/passkeys/register/begin", limited: true, bearer: true, serve: h.passkeyRegisterBegin},
		{method: "POST", path: "/auth/passkeys/register/finish", limited: true, bearer: true, serve: h.passkeyRegisterFinish},
		{method: "POST", path: "/auth/passkeys/signup/begin", limited: true, serve: h.passkeySignupBegin},
		{method: "POST", path: "/auth/passkeys/signup/finish", limited: true, serve: h.passkeySignupFinish},
		{method: "POST", path: "/auth/passkeys/login/begin", limited: true, serve: h.passkeyLoginBegin},
		{method: "POST", path: "/auth/passkeys/login/finish", limited: true, serve: h.passkeyLoginFinish},
		{method: "GET", path: "/auth/passkeys", bearer: true, serve: h.passkeyList},
		{method: "PATCH", path: "/auth/passkeys/{id}", bearer: true, serve: h.passkeyRename},
		{method: "DELETE", path: "/auth/passkeys/{id}", bearer: true, serve: h.passkeyDelete},
	}
}

// codePasskeyExists is the 409 of a credential registered already.
const codePasskeyExists = "passkey_exists"

// passkeyProblem maps the errors of the passkey flows.
func passkeyProblem(err error) (p *problem, ok bool) {
	var ce *auth.CredentialError
	switch {
	case errors.As(err, &ce):
		p := newProblem(codeBadRequest, "The credential was not accepted.")
		p.Errors = []fieldError{{Field: "credential", Code: ce.Reason, Message: credentialMessage(ce.Reason)}}
		return p, true
	case errors.Is(err, auth.ErrPasskeyExists):
		return newProblem(codePasskeyExists, "This passkey is already registered."), true
	case errors.Is(err, auth.ErrPasskeysOff):
		return newProblem(codeNotFound, detailNotFound), true
	}
	return nil, false
}

func credentialMessage(reason string) string {
	if reason == auth.CredentialMalformed {
		return "This field must be a PublicKeyCredential in WebAuthn JSON, as toJSON() gives it."
	}
	return "The authenticator's answer failed verification (origin, relying party, challenge or attestation)."
}

// decodeOptional is decodeBody for the routes whose every member is
// optional: a request without a body (no Content-Length, no Content-Type)
// is taken as {}.
func (h *Handler) decodeOptional(w http.ResponseWriter, r *http.Request, fields []field) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	return h.decodeBody(w, r, acceptJSON, fields)
}

type ceremonyJSON struct {
	CeremonyID string          `json:"ceremony_id"`
	Options    json.RawMessage `json:"options"`
	ExpiresAt  time.Time       `json:"expires_at"`
}

func newCeremonyJSON(c auth.PasskeyCeremony) ceremonyJSON {
	return ceremonyJSON{CeremonyID: c.ID, Options: c.Options, ExpiresAt: c.ExpiresAt}
}

// passkeyJSON is the public view of a passkey: never its key or counter.
type passkeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	BackedUp   bool       `json:"backed_up"`
	Transports []string   `json:"transports"`
}

func newPasskeyJSON(p store.Passkey) passkeyJSON {
	j := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, BackedUp: p.BackupState, Transports: p.Transports}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt
		j.LastUsedAt = &t
	}
	if j.Transports == nil {
		j.Transports = []string{}
	}
	return j
}

// POST /auth/passkeys/register/begin (bearer): 200 with the ceremony.
func (h *Handler) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	if err := h.decodeOptional(w, r, nil); err != nil {
		h.writeError(w, r, err)
		return
	}
	c, err := h.svc.BeginPasskeyRegistration(r.Context(), identity(r), h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newCeremonyJSON(c))
}

// finishFields are the members of the finish of a registration or sign-up.
func finishFields(ceremonyID *string, cred *json.RawMessage, name *string) []field {
	return []field{
		{name: "ceremony_id", required: true, dst: ceremonyID},
		{name: "credential", required: true, object: cred},
		{name: "name", dst: name},
	}
}

// POST /auth/passkeys/register/finish (bearer): 201 with the passkey.
func (h *Handler) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	var id, name string
	var cred json.RawMessage
	if err := h.decodeBody(w, r, acceptJSON, finishFields(&id, &cred, &name)); err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.svc.FinishPasskeyRegistration(r.Context(), identity(r), id, cred, name, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusCreated, newPasskeyJSON(p))
}

// POST /auth/passkeys/signup/begin: 200 with the ceremony of a new
// account.
func (h *Handler) passkeySignupBegin(w http.ResponseWriter, r *http.Request) {
	var username, email string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "username", required: true, dst: &username},
		{name: "email", required: true, dst: &email},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	c, err := h.svc.BeginPasskeySignup(r.Context(), username, email, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newCeremonyJSON(c))
}

// POST /auth/passkeys/signup/finish: 201 with the new user, as register
// answers (202 with one body under uniform registration).
func (h *Handler) passkeySignupFinish(w http.ResponseWriter, r *http.Request) {
	var id, name string
	var cred json.RawMessage
	if err := h.decodeBody(w, r, acceptJSON, finishFields(&id, &cred, &name)); err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.svc.FinishPasskeySignup(r.Context(), id, cred, name, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeRegistered(w, r, u)
}

// POST /auth/passkeys/login/begin: 200 with the ceremony of a sign-in.
func (h *Handler) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	var username, mfaToken string
	if err := h.decodeOptional(w, r, []field{
		{name: "username", dst: &username},
		{name: "mfa_token", dst: &mfaToken},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	if username != "" && mfaToken != "" {
		h.writeError(w, r, badRequest("Give at most one of username and mfa_token.",
			fieldError{Field: "mfa_token", Code: fieldUnknown, Message: "Not accepted together with username."}))
		return
	}
	c, err := h.svc.BeginPasskeyLogin(r.Context(), username, mfaToken, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newCeremonyJSON(c))
}

// POST /auth/passkeys/login/finish: 200 with the tokens, as login answers.
func (h *Handler) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	var id string
	var cred json.RawMessage
	var d device
	if err := h.decodeBody(w, r, acceptJSON, append([]field{
		{name: "ceremony_id", required: true, dst: &id},
		{name: "credential", required: true, object: &cred},
	}, d.fields(true)...)); err != nil {
		h.writeError(w, r, err)
		return
	}
	t, err := h.svc.FinishPasskeyLogin(r.Context(), id, cred, h.deviceClient(r, d))
	if errors.Is(err, auth.ErrInvalidCredentials) {
		writeProblem(w, newProblem(codeInvalidCredentials, "The passkey was not accepted."))
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newTokenJSON(t))
}

// GET /auth/passkeys (bearer): 200 with the user's passkeys.
func (h *Handler) passkeyList(w http.ResponseWriter, r *http.Request) {
	list, err := h.svc.Passkeys(r.Context(), identity(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]passkeyJSON, len(list))
	for i, p := range list {
		out[i] = newPasskeyJSON(p)
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// PATCH /auth/passkeys/{id} (bearer): 200 with the renamed passkey.
func (h *Handler) passkeyRename(w http.ResponseWriter, r *http.Request) {
	var name string
	if err := h.decodeBody(w, r, acceptJSON, []field{{name: "name", required: true, dst: &name}}); err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.svc.RenamePasskey(r.Context(), identity(r), r.PathValue("id"), name, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newPasskeyJSON(p))
}

// DELETE /auth/passkeys/{id} (bearer): 204.
func (h *Handler) passkeyDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeletePasskey(r.Context(), identity(r), r.PathValue("id"), h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
