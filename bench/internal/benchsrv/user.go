package benchsrv

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// The account the servers answer for. The forgeauth server registers it
// (with a random ID and the current time); the bare and jwtauth servers hold
// [FixtureUser], a record of the same shape, so all three bodies have the
// same fields and the same length.
const (
	Username = "bench"
	Email    = "bench@example.com"
	// Password is the bench account's password on the forgeauth server. It
	// guards nothing but a throw-away in-memory account.
	Password = "Quiet-Harbor-Lamp-73!"
)

// FixtureUser returns the bench account as the bare and jwtauth servers
// hold it: active, not verified, logged in once, like the forgeauth
// server's account after the login that issued the token.
func FixtureUser() store.User {
	at := time.Date(2025, time.January, 2, 3, 4, 5, 0, time.UTC)
	return store.User{
		ID:          "6f1c1d64-8a34-4d1e-9b0e-2f4c7a9d5e11",
		Username:    Username,
		Email:       Email,
		IsActive:    true,
		CreatedAt:   at,
		UpdatedAt:   at,
		LastLoginAt: at,
	}
}

// userJSON is the public view of a user, field for field the one httpauth
// writes for GET /users/me.
type userJSON struct {
	ID          string  `json:"id"`
	Username    string  `json:"username"`
	Email       string  `json:"email"`
	IsActive    bool    `json:"is_active"`
	IsVerified  bool    `json:"is_verified"`
	IsSuperuser bool    `json:"is_superuser"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
	LastLoginAt *string `json:"last_login_at"`
}

func newUserJSON(u store.User) userJSON {
	j := userJSON{
		ID:          u.ID,
		Username:    u.Username,
		Email:       u.Email,
		IsActive:    u.IsActive,
		IsVerified:  u.IsVerified,
		IsSuperuser: u.IsSuperuser,
		CreatedAt:   u.CreatedAt.UTC().Format(time.RFC3339),
		UpdatedAt:   u.UpdatedAt.UTC().Format(time.RFC3339),
	}
	if !u.LastLoginAt.IsZero() {
		s := u.LastLoginAt.UTC().Format(time.RFC3339)
		j.LastLoginAt = &s
	}
	return j
}

// writeUser answers 200 with u as JSON, the way httpauth answers: the body
// marshalled per request, the same headers, a trailing newline. Every server
// does this same work, so the difference between them is authentication.
func writeUser(w http.ResponseWriter, u store.User) {
	body, err := json.Marshal(newUserJSON(u))
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
}

// writeUnauthorized answers 401 with a small problem document.
func writeUnauthorized(w http.ResponseWriter) {
	hdr := w.Header()
	hdr.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	hdr.Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"title":"Unauthorized","status":401,"code":"invalid_token"}` + "\n"))
}
