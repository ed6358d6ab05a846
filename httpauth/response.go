package httpauth

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store"
)

// userJSON is the public view of a user: never the password hash.
type userJSON struct {
	ID          string  `json:"id"`
	Username    string  `json:"username"`
	Email       string  `json:"email"`
	IsActive    bool    `json:"is_active"`
	IsVerified  bool    `json:"is_verified"`
	IsSuperuser bool    `json:"is_superuser"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
	LastLoginAt *string `json:"last_login_at"` // null until the first login
}

func newUserJSON(u store.User) userJSON {
	j := userJSON{
		ID:          u.ID,
		Username:    u.Username,
		Email:       u.Email,
		IsActive:    u.IsActive,
		IsVerified:  u.IsVerified,
		IsSuperuser: u.IsSuperuser,
		CreatedAt:   timeJSON(u.CreatedAt),
		UpdatedAt:   timeJSON(u.UpdatedAt),
	}
	if !u.LastLoginAt.IsZero() {
		s := timeJSON(u.LastLoginAt)
		j.LastLoginAt = &s
	}
	return j
}

// tokenJSON is the answer of login and refresh.
type tokenJSON struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	ExpiresAt        string `json:"expires_at"`
	RefreshToken     string `json:"refresh_token,omitempty"`
	RefreshExpiresAt string `json:"refresh_expires_at,omitempty"`
	DeviceToken      string `json:"device_token,omitempty"` // login only
}

func newTokenJSON(t auth.Tokens) tokenJSON {
	j := tokenJSON{
		AccessToken: t.AccessToken,
		TokenType:   "bearer",
		ExpiresIn:   t.ExpiresIn,
		ExpiresAt:   timeJSON(t.ExpiresAt),
		DeviceToken: t.DeviceToken,
	}
	if t.RefreshToken != "" {
		j.RefreshToken = t.RefreshToken
		j.RefreshExpiresAt = timeJSON(t.RefreshExpiresAt)
	}
	return j
}

// deviceJSON is one active session in the device list.
type deviceJSON struct {
	ID         string `json:"id"`
	DeviceName string `json:"device_name"`
	DeviceType string `json:"device_type"`
	IPAddress  string `json:"ip_address"`
	UserAgent  string `json:"user_agent"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	Current    bool   `json:"current"`
}

func newDeviceJSON(d auth.Device) deviceJSON {
	return deviceJSON{
		ID:         d.ID,
		DeviceName: d.DeviceName,
		DeviceType: d.DeviceType,
		IPAddress:  d.IPAddress,
		UserAgent:  d.UserAgent,
		CreatedAt:  timeJSON(d.CreatedAt),
		LastUsedAt: timeJSON(d.LastUsedAt),
		Current:    d.Current,
	}
}

// detailJSON is the one body of the answers that must not tell whether an
// account exists.
type detailJSON struct {
	Detail string `json:"detail"`
}

// timeJSON formats t in RFC 3339, UTC, whole seconds.
func timeJSON(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// writeJSON writes v as the JSON body of a status answer.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	if t, ok := v.(tokenJSON); ok {
		// Every answer that issues a pair goes through here.
		v = h.withRefreshCookie(w, t)
	}
	body, err := json.Marshal(v)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	hdr := w.Header()
	setSecurityHeaders(hdr)
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
