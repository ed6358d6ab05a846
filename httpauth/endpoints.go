package httpauth

import (
	"net/http"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store"
)

// acceptedDetail is the body of every 202 of resend-verification and
// forgot-password, whatever the account: byte for byte the same.
const acceptedDetail = "If the account exists, an email has been sent."

// identity returns the identity RequireUser put in the context.
func identity(r *http.Request) auth.Identity {
	id, _ := auth.FromContext(r.Context())
	return id
}

// POST /auth/register: 201 with the user.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	var username, email, pw string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "username", required: true, dst: &username},
		{name: "email", required: true, dst: &email},
		{name: "password", required: true, dst: &pw},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.svc.Register(r.Context(), username, email, pw, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeRegistered(w, r, u)
}

// writeRegistered answers a sign-up (register, or a passkey sign-up): 201
// with the new user, or, under uniform registration, 202 with one body for
// a new address and a taken one.
func (h *Handler) writeRegistered(w http.ResponseWriter, r *http.Request, u store.User) {
	if h.svc.UniformRegistration() {
		h.writeJSON(w, r, http.StatusAccepted, detailJSON{Detail: registerAcceptedDetail})
		return
	}
	h.writeJSON(w, r, http.StatusCreated, newUserJSON(u))
}

// POST /auth/login (JSON or form): 200 with the tokens.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	var login, pw string
	var d device
	if err := h.decodeBody(w, r, acceptJSON|acceptForm, append([]field{
		{name: "username", required: true, dst: &login},
		{name: "password", required: true, dst: &pw},
	}, d.fields(true)...)); err != nil {
		h.writeError(w, r, err)
		return
	}
	t, err := h.svc.Login(r.Context(), login, pw, h.deviceClient(r, d))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newTokenJSON(t))
}

// GET /users/me (bearer): 200 with the user.
func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, http.StatusOK, newUserJSON(identity(r).User))
}

// POST /auth/verify-email: 200 with the verified user.
func (h *Handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	var email, code string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "email", required: true, dst: &email},
		{name: "code", required: true, dst: &code},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.svc.VerifyEmail(r.Context(), email, code, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newUserJSON(u))
}

// POST /auth/resend-verification: 202, the same body for every account.
func (h *Handler) resendVerification(w http.ResponseWriter, r *http.Request) {
	var email string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "email", required: true, dst: &email},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.ResendVerification(r.Context(), email, h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusAccepted, detailJSON{Detail: acceptedDetail})
}

// POST /auth/refresh: 200 with a new token pair.
func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) {
	rt, fromCookie, err := h.presentedRefreshToken(w, r)
	if err != nil {
		h.forgetFailedCookie(w, fromCookie, err)
		h.writeError(w, r, err)
		return
	}
	t, err := h.svc.Refresh(r.Context(), rt, h.client(r, "", ""))
	if err != nil {
		h.forgetFailedCookie(w, fromCookie, err)
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newTokenJSON(t))
}

// POST /auth/logout: 204.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	rt, fromCookie, err := h.presentedRefreshToken(w, r)
	if err != nil {
		h.forgetFailedCookie(w, fromCookie, err)
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.Logout(r.Context(), rt, h.client(r, "", "")); err != nil {
		h.forgetFailedCookie(w, fromCookie, err)
		h.writeError(w, r, err)
		return
	}
	h.clearRefreshCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// POST /auth/logout-all (bearer): 204.
func (h *Handler) logoutAll(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.LogoutAll(r.Context(), identity(r), h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.clearRefreshCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// POST /auth/forgot-password: 202, the same body for every account.
func (h *Handler) forgotPassword(w http.ResponseWriter, r *http.Request) {
	var email string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "email", required: true, dst: &email},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.ForgotPassword(r.Context(), email, h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusAccepted, detailJSON{Detail: acceptedDetail})
}

// POST /auth/reset-password: 204.
func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request) {
	var email, code, pw string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "email", required: true, dst: &email},
		{name: "code", required: true, dst: &code},
		{name: "new_password", required: true, dst: &pw},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.ResetPassword(r.Context(), email, code, pw, h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// POST /auth/change-password (bearer): 204.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	var current, pw string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "current_password", required: true, dst: &current},
		{name: "new_password", required: true, dst: &pw},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.ChangePassword(r.Context(), identity(r), current, pw, h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GET /auth/devices (bearer): 200 with the active sessions.
func (h *Handler) devices(w http.ResponseWriter, r *http.Request) {
	ds, err := h.svc.Devices(r.Context(), identity(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]deviceJSON, len(ds))
	for i, d := range ds {
		out[i] = newDeviceJSON(d)
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// DELETE /auth/devices/{id} (bearer): 204.
func (h *Handler) revokeDevice(w http.ResponseWriter, r *http.Request) {
	deviceID := r.PathValue("id")
	// An id no device can have (too long, not text) is no device, and must
	// not reach a store that would fail on it.
	if len(deviceID) > maxDeviceRunes || !isText(deviceID) {
		h.writeError(w, r, auth.ErrNotFound)
		return
	}
	if err := h.svc.RevokeDevice(r.Context(), identity(r), deviceID, h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
