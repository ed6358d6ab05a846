package httpauth

import (
	"net/http"
)

// POST /auth/change-email (bearer): 202; a code goes to the new address.
func (h *Handler) changeEmail(w http.ResponseWriter, r *http.Request) {
	var current, newEmail string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "current_password", required: true, dst: &current},
		{name: "new_email", required: true, dst: &newEmail},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.ChangeEmail(r.Context(), identity(r), current, newEmail, h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusAccepted, detailJSON{Detail: emailChangeDetail})
}

// emailChangeDetail is the body of the 202 of change-email.
const emailChangeDetail = "A code has been sent to the new address."

// POST /auth/confirm-email-change (bearer): 200 with the user.
func (h *Handler) confirmEmailChange(w http.ResponseWriter, r *http.Request) {
	var code string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "code", required: true, dst: &code},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.svc.ConfirmEmailChange(r.Context(), identity(r), code, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newUserJSON(u))
}

// DELETE /users/me (bearer): 204; the account and everything of it is gone.
// The body confirms it with current_password, or, for an account without a
// password, with the code of POST /users/me/deletion-code.
func (h *Handler) deleteMe(w http.ResponseWriter, r *http.Request) {
	var current, code string
	if err := h.decodeBody(w, r, acceptJSON, []field{
		{name: "current_password", dst: &current},
		{name: "code", dst: &code},
	}); err != nil {
		h.writeError(w, r, err)
		return
	}
	var err error
	switch {
	case (current == "") == (code == ""):
		err = badRequest("Give exactly one of current_password and code.",
			fieldError{Field: "current_password", Code: fieldRequired, Message: "Confirm with the current password or, for an account without one, the mailed code."})
	case code != "":
		err = h.svc.DeleteAccountWithCode(r.Context(), identity(r), code, h.client(r, "", ""))
	default:
		err = h.svc.DeleteAccount(r.Context(), identity(r), current, h.client(r, "", ""))
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deletionCodeDetail is the body of POST /users/me/deletion-code.
const deletionCodeDetail = "A code that confirms the deletion has been sent to the account's email address."

// POST /users/me/deletion-code (bearer): 202; a code to the user's address
// that confirms DELETE /users/me for an account without a password.
func (h *Handler) deletionCode(w http.ResponseWriter, r *http.Request) {
	if err := h.decodeOptional(w, r, nil); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.RequestDeletionCode(r.Context(), identity(r), h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusAccepted, detailJSON{Detail: deletionCodeDetail})
}
