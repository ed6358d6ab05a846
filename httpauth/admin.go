package httpauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store"
)

// registerAcceptedDetail is the one body of a uniform registration's 202,
// for a new address and a taken one alike.
const registerAcceptedDetail = "If the address can be used, an email has been sent to it."

// userPageJSON is the answer of GET /admin/users.
type userPageJSON struct {
	Users      []userJSON `json:"users"`
	NextCursor *string    `json:"next_cursor"`
}

// adminUserJSON is the answer of GET /admin/users/{id}: the user and the
// counts, at the top level.
type adminUserJSON struct {
	userJSON
	Sessions   int  `json:"sessions"`
	MFA        bool `json:"mfa"`
	Passkeys   int  `json:"passkeys"`
	Identities int  `json:"identities"`
}

// maxQueryText bounds the search text and the cursor of GET /admin/users.
const maxQueryText = 512

// GET /admin/users (superuser): 200 {users, next_cursor}.
func (h *Handler) adminListUsers(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	for name := range qs {
		switch name {
		case "q", "limit", "cursor":
			if len(qs[name]) > 1 {
				h.writeError(w, r, badRequest("The query parameter "+name+" is given twice.",
					fieldError{Field: name, Code: fieldDuplicate, Message: "Give this parameter once."}))
				return
			}
		default:
			h.writeError(w, r, badRequest("Unknown query parameter.",
				fieldError{Field: name, Code: fieldUnknown, Message: "This parameter is not accepted."}))
			return
		}
	}
	q, cursor := qs.Get("q"), qs.Get("cursor")
	for name, v := range map[string]string{"q": q, "cursor": cursor} {
		if len(v) > maxQueryText || !utf8.ValidString(v) || !isText(v) {
			h.writeError(w, r, badRequest("The query parameter "+name+" is not acceptable text.",
				fieldError{Field: name, Code: fieldText, Message: "Give text of at most 512 bytes."}))
			return
		}
	}
	limit := 0
	if v := qs.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			h.writeError(w, r, badRequest("The limit must be a positive whole number.",
				fieldError{Field: "limit", Code: fieldType, Message: "Give a whole number from 1; above 100 counts as 100."}))
			return
		}
		limit = n
	}
	page, err := h.svc.ListUsers(r.Context(), identity(r), q, limit, cursor)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := userPageJSON{Users: make([]userJSON, len(page.Users))}
	for i, u := range page.Users {
		out.Users[i] = newUserJSON(u)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// GET /admin/users/{id} (superuser): 200 the user and the counts.
func (h *Handler) adminGetUser(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.GetUser(r.Context(), identity(r), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, adminUserJSON{
		userJSON: newUserJSON(d.User), Sessions: d.Sessions, MFA: d.MFA, Passkeys: d.Passkeys, Identities: d.Identities,
	})
}

// PATCH /admin/users/{id} (superuser): 200 the user.
func (h *Handler) adminUpdateUser(w http.ResponseWriter, r *http.Request) {
	if _, err := mediaType(r.Header.Values("Content-Type"), acceptJSON); err != nil {
		h.writeError(w, r, err)
		return
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	up, err := decodeFlags(body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.svc.UpdateUser(r.Context(), identity(r), r.PathValue("id"), up, h.client(r, "", ""))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, newUserJSON(u))
}

// decodeFlags decodes the body of PATCH /admin/users/{id} strictly: a JSON
// object of at least one of is_active, is_verified and is_superuser, each
// once, each true or false, and nothing else.
func decodeFlags(body []byte) (store.UserUpdate, error) {
	var up store.UserUpdate
	dec := json.NewDecoder(bytes.NewReader(body))
	malformed := badRequest("The request body is not a valid JSON object.")
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return up, malformed
	}
	dst := map[string]**bool{"is_active": &up.IsActive, "is_verified": &up.IsVerified, "is_superuser": &up.IsSuperuser}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return up, malformed
		}
		name, _ := tok.(string)
		p, ok := dst[name]
		if !ok {
			return up, badRequest("Unknown field.", fieldError{Field: name, Code: fieldUnknown, Message: "This field is not accepted."})
		}
		if *p != nil {
			return up, badRequest("A field is given twice.", fieldError{Field: name, Code: fieldDuplicate, Message: "Give this field once."})
		}
		tok, err = dec.Token()
		if err != nil {
			return up, malformed
		}
		b, ok := tok.(bool)
		if !ok {
			return up, badRequest("A field has the wrong type.", fieldError{Field: name, Code: fieldType, Message: "Give true or false."})
		}
		*p = &b
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return up, malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return up, badRequest("The request body has data after the JSON object.")
	}
	if up == (store.UserUpdate{}) {
		return up, badRequest("Give at least one of is_active, is_verified and is_superuser.",
			fieldError{Field: "is_active", Code: fieldRequired, Message: "Give at least one flag."})
	}
	return up, nil
}

// POST /admin/users/{id}/logout-all (superuser): 204.
func (h *Handler) adminLogoutAll(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.LogoutUser(r.Context(), identity(r), r.PathValue("id"), h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DELETE /admin/users/{id} (superuser): 204.
func (h *Handler) adminDeleteUser(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteUser(r.Context(), identity(r), r.PathValue("id"), h.client(r, "", "")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// lifecycleRoutes are the routes of the lifecycle and administration
// flows that the service has turned on.
func (h *Handler) lifecycleRoutes(basic bool) []route {
	var rs []route
	if h.svc.AccountChangesEnabled() {
		if !basic {
			rs = append(rs,
				route{method: "POST", path: "/auth/change-email", limited: true, bearer: true, serve: h.changeEmail},
				route{method: "POST", path: "/auth/confirm-email-change", limited: true, bearer: true, serve: h.confirmEmailChange},
				route{method: "POST", path: "/users/me/deletion-code", limited: true, bearer: true, serve: h.deletionCode},
			)
		}
		rs = append(rs, route{method: "DELETE", path: "/users/me", limited: true, bearer: true, serve: h.deleteMe})
	}
	if h.svc.AdminEnabled() {
		rs = append(rs,
			route{method: "GET", path: "/admin/users", superuser: true, serve: h.adminListUsers},
			route{method: "GET", path: "/admin/users/{id}", superuser: true, serve: h.adminGetUser},
			route{method: "PATCH", path: "/admin/users/{id}", superuser: true, serve: h.adminUpdateUser},
			route{method: "DELETE", path: "/admin/users/{id}", superuser: true, serve: h.adminDeleteUser},
			route{method: "POST", path: "/admin/users/{id}/logout-all", superuser: true, serve: h.adminLogoutAll},
		)
	}
	return rs
}

// lifecycleProblem maps the errors of the lifecycle flows; ok is false for
// the others.
func lifecycleProblem(err error) (p *problem, ok bool) {
	switch {
	case errors.Is(err, auth.ErrLastSuperuser):
		return newProblem(codeLastSuperuser, "The last active superuser cannot be demoted, disabled or deleted."), true
	case errors.Is(err, auth.ErrHasPassword):
		p := newProblem(codeBadRequest, "This account has a password: confirm the deletion with current_password.")
		p.Errors = []fieldError{{Field: "code", Code: "password_set", Message: "A mailed code is for accounts without a password."}}
		return p, true
	case errors.Is(err, auth.ErrInvalidCursor):
		return newProblem(codeBadRequest, "The cursor is not one this server handed out for this search."), true
	case errors.Is(err, auth.ErrForbidden):
		return newProblem(codeForbidden, "This endpoint is reserved to superusers."), true
	}
	return nil, false
}

// codeLastSuperuser is the 409 of a change that would leave no active
// superuser.
const codeLastSuperuser = "last_superuser"
