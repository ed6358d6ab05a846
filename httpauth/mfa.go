package httpauth

import (
	"errors"
	"net/http"

	"github.com/forgeauth/forgeauth/auth"
)

// errNoSecondFactor is the condition "a valid token of a session signed in
// without a second factor" (RequireMFA).
var errNoSecondFactor = errors.New("httpauth: second factor required")

// mfaRoutes are the endpoints of the second factor (DESIGN §7), mounted
// when the service has it on.
func (h *Handler) mfaRoutes() []route {
	return []route{
		{method: "GET", path: "/auth/mfa", bearer: true, serve: h.mfaStatus},
		{method: "POST", path: "/auth/mfa/totp/setup", limited: true, bearer: true, serve: h.setupTOTP},
		{method: "POST", path: "/auth/mfa/totp/confirm", limited: true, bearer: true, serve: h.confirmTOTP},
		{method: "POST", path: "/auth/mfa/totp/disable", limited: true, bearer: true, serve: h.disableTOTP},
		{method: "POST", path: "/auth/mfa/recovery-codes", limited: true, bearer: true, serve: h.recoveryCodes},
		{method: "POST", path: "/auth/mfa/verify", limited: true, serve: h.verifyMFA},
	}
}

// RequireMFA returns middleware that does what [Handler.RequireUser] does
// and then answers 403 insufficient_user_authentication unless the access
// token's session was signed in with a second factor: its amr claim holds
// "mfa" ([auth.HasSecondFactor]), as every token of a session finished at
// /auth/mfa/verify does. A session signed in with a password alone, before
// or after the user turned a second factor on, is refused however often it
// is refreshed; the client signs in again. Safe for concurrent use.
func (h *Handler) RequireMFA(next http.Handler) http.Handler {
	return h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if claims, ok := ClaimsFrom(r.Context()); !ok || !auth.HasSecondFactor(claims) {
			h.writeError(w, r, errNoSecondFactor)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

type mfaStatusJSON struct {
	TOTPEnabled       bool `json:"totp_enabled"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
	Passkeys          int  `json:"passkeys"`
}

type totpSetupJSON struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	QRPNG      string `json:"qr_png"`
}

type recoveryCodesJSON struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// GET /auth/mfa (bearer): 200 with the status.
func (h *Handler) mfaStatus(w http.ResponseWriter, r *http.Request) {
	st, err := h.svc.MFAStatus(r.Context(), identity(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, mfaStatusJSON{TOTPEnabled: st.TOTPEnabled, RecoveryCodesLeft: st.RecoveryCodesLeft, Passkeys: st.Passkeys})
}

// POST /auth/mfa/totp/setup (bearer): 200 with the new secret.
func (h *Handler) setupTOTP(w http.ResponseWriter, r *http.Request) {
	var pw string
	if err := h.decodeBody(w, r, acceptJSON, []field{{name: "current_password", required: true, dst: &pw}}); err != nil {
		h.writeError(w, r, err)
		return
	}
	s, err := h.svc.SetupTOTP(r.Context(), identity(r), pw, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, totpSetupJSON{Secret: s.Secret, OTPAuthURI: s.URI, QRPNG: s.QRDataURL})
}

// POST /auth/mfa/totp/confirm (bearer): 200 with the recovery codes.
func (h *Handler) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	var code string
	if err := h.decodeBody(w, r, acceptJSON, []field{{name: "code", required: true, dst: &code}}); err != nil {
		h.writeError(w, r, err)
		return
	}
	codes, err := h.svc.ConfirmTOTP(r.Context(), identity(r), code, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, recoveryCodesJSON{RecoveryCodes: codes})
}

// passwordAndCode decodes the body of disable and recovery-codes.
func (h *Handler) passwordAndCode(w http.ResponseWriter, r *http.Request) (pw, code string, err error) {
	err = h.decodeBody(w, r, acceptJSON, []field{
		{name: "current_password", required: true, dst: &pw},
		{name: "code", required: true, dst: &code},
	})
	return pw, code, err
}

// POST /auth/mfa/totp/disable (bearer): 204.
func (h *Handler) disableTOTP(w http.ResponseWriter, r *http.Request) {
	pw, code, err := h.passwordAndCode(w, r)
	if err == nil {
		err = h.svc.DisableTOTP(r.Context(), identity(r), pw, code, h.client(r, "", ""))
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// POST /auth/mfa/recovery-codes (bearer): 200 with new recovery codes.
func (h *Handler) recoveryCodes(w http.ResponseWriter, r *http.Request) {
	pw, code, err := h.passwordAndCode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	codes, err := h.svc.RegenerateRecoveryCodes(r.Context(), identity(r), pw, code, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, recoveryCodesJSON{RecoveryCodes: codes})
}

// POST /auth/mfa/verify: 200 with the tokens of the finished login.
func (h *Handler) verifyMFA(w http.ResponseWriter, r *http.Request) {
	var tok, code, recovery string
	var d device
	if err := h.decodeBody(w, r, acceptJSON, append([]field{
		{name: "mfa_token", required: true, dst: &tok},
		{name: "code", dst: &code},
		{name: "recovery_code", dst: &recovery},
	}, d.fields(false)...)); err != nil {
		h.writeError(w, r, err)
		return
	}
	if (code == "") == (recovery == "") {
		h.writeError(w, r, badRequest("Give exactly one of code and recovery_code.",
			fieldError{Field: "code", Code: fieldRequired, Message: "Give a TOTP code or a recovery code, not both."}))
		return
	}
	t, err := h.svc.VerifyMFA(r.Context(), tok, code, recovery, h.deviceClient(r, d))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newTokenJSON(t))
}
