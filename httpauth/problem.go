package httpauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/forgeauth/forgeauth/auth"
)

// The stable machine-readable codes of the problem documents this package
// writes. They are listed, with their statuses, in the OpenAPI document.
const (
	codeBadRequest          = "bad_request"
	codeInvalidCode         = "invalid_code"
	codeInvalidCredentials  = "invalid_credentials"
	codeInvalidToken        = "invalid_token"
	codeInvalidRefreshToken = "invalid_refresh_token"
	codeInvalidPassword     = "invalid_password"
	codeEmailNotVerified    = "email_not_verified"
	codeInactiveUser        = "inactive_user"
	codeForbidden           = "forbidden"
	codeNotFound            = "not_found"
	codeMethodNotAllowed    = "method_not_allowed"
	codeUserExists          = "user_exists"
	codePayloadTooLarge     = "payload_too_large"
	codeUnsupportedMedia    = "unsupported_media_type"
	codeValidationFailed    = "validation_failed"
	codeRateLimited         = "rate_limited"
	codeInternal            = "internal"
	codeUnavailable         = "unavailable"

	codeMFARequired                = "mfa_required"
	codeInsufficientAuthentication = "insufficient_user_authentication"
	codeMFAAlreadyEnabled          = "mfa_already_enabled"
	codeMFANotEnabled              = "mfa_not_enabled"
	codeInvalidRedirectURI         = "invalid_redirect_uri"
	codeInvalidState               = "invalid_state"
	codeLastLoginMethod            = "last_login_method"
)

// problemTypeBase is the stable prefix of every problem "type" URI; the code
// completes it. The URIs identify a problem kind; clients must not fetch them
// (RFC 9457, section 3.1.1).
const problemTypeBase = "https://forgeauth.dev/problems/"

// problem is an RFC 9457 problem document with the forgeauth extensions
// "code" and "errors".
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Code   string       `json:"code"`
	Errors []fieldError `json:"errors,omitempty"`
	// MFAToken and Methods go with mfa_required at login.
	MFAToken string   `json:"mfa_token,omitempty"`
	Methods  []string `json:"methods,omitempty"`

	// Response headers that go with the problem; not part of the body.
	retryAfter      time.Duration
	wwwAuthenticate string
}

// fieldError names one rejected input field. It never holds the value.
type fieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// newProblem returns the problem for code with its fixed status and title.
func newProblem(code, detail string) *problem {
	status, title := describe(code)
	return &problem{
		Type:   problemTypeBase + code,
		Title:  title,
		Status: status,
		Detail: detail,
		Code:   code,
	}
}

// describe returns the status and title of a code.
func describe(code string) (int, string) {
	switch code {
	case codeBadRequest:
		return http.StatusBadRequest, "Bad request"
	case codeInvalidCode:
		return http.StatusBadRequest, "Invalid code"
	case codeInvalidCredentials:
		return http.StatusUnauthorized, "Invalid credentials"
	case codeInvalidToken:
		return http.StatusUnauthorized, "Invalid token"
	case codeInvalidRefreshToken:
		return http.StatusUnauthorized, "Invalid refresh token"
	case codeInvalidPassword:
		return http.StatusUnauthorized, "Invalid password"
	case codeEmailNotVerified:
		return http.StatusForbidden, "Email not verified"
	case codeInactiveUser:
		return http.StatusForbidden, "Inactive user"
	case codeForbidden:
		return http.StatusForbidden, "Forbidden"
	case codeNotFound:
		return http.StatusNotFound, "Not found"
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed, "Method not allowed"
	case codeUserExists:
		return http.StatusConflict, "User exists"
	case codeLastSuperuser:
		return http.StatusConflict, "Last superuser"
	case codePayloadTooLarge:
		return http.StatusRequestEntityTooLarge, "Payload too large"
	case codeUnsupportedMedia:
		return http.StatusUnsupportedMediaType, "Unsupported media type"
	case codeValidationFailed:
		return http.StatusUnprocessableEntity, "Validation failed"
	case codeRateLimited:
		return http.StatusTooManyRequests, "Too many requests"
	case codeUnavailable:
		return http.StatusServiceUnavailable, "Service unavailable"
	case codeMFARequired:
		return http.StatusForbidden, "Second factor required"
	case codeInsufficientAuthentication:
		return http.StatusForbidden, "Second factor required for this route"
	case codeMFAAlreadyEnabled:
		return http.StatusConflict, "Second factor already enabled"
	case codeMFANotEnabled:
		return http.StatusConflict, "Second factor not enabled"
	case codeInvalidRedirectURI:
		return http.StatusBadRequest, "Invalid redirect URI"
	case codeInvalidState:
		return http.StatusBadRequest, "Invalid state"
	case codePasskeyExists:
		return http.StatusConflict, "Passkey exists"
	case codeLastLoginMethod:
		return http.StatusConflict, "Last way to sign in"
	default:
		return http.StatusInternalServerError, "Internal error"
	}
}

// requestError is an error found in the request itself (its framing, content
// type, size or JSON) before any flow runs. It carries the problem to answer.
type requestError struct {
	p *problem
}

func (e *requestError) Error() string { return "httpauth: " + e.p.Detail }

func badRequest(detail string, fields ...fieldError) error {
	p := newProblem(codeBadRequest, detail)
	p.Errors = fields
	return &requestError{p: p}
}

// errNoToken is the condition "no Authorization header at all": a 401 whose
// challenge carries no error attribute (RFC 6750, section 3.1).
var errNoToken = errors.New("httpauth: no bearer token")

// errForbidden is the condition "authenticated, but not allowed".
var errForbidden = errors.New("httpauth: forbidden")

// errCrossOrigin is the condition "a form posted from another origin".
var errCrossOrigin = errors.New("httpauth: cross-origin form")

// errRouteNotFound is the condition "no such endpoint".
var errRouteNotFound = errors.New("httpauth: no such endpoint")

// The details of the problems whose text does not depend on the request.
const (
	detailInternal    = "An internal error occurred."
	detailUnavailable = "The service is temporarily unavailable; retry later."
	detailNotFound    = "The requested resource does not exist."
	detailTokenBad    = "The access token is missing, malformed, expired or revoked."
	detailTokenNone   = "This endpoint requires a bearer access token."
)

// toProblem is the one place that maps an error to a status and a code. Errors
// it does not recognise are logged and answered as 500 "internal", so nothing
// internal reaches the client.
func (h *Handler) toProblem(r *http.Request, err error) *problem {
	var (
		reqErr   *requestError
		exists   *auth.ExistsError
		invalid  *auth.ValidationError
		limited  *auth.RateLimitError
		unavail  *auth.UnavailableError
		retryErr *retryError
		mfaReq   *auth.MFARequiredError
	)
	if p, ok := lifecycleProblem(err); ok {
		return p
	}
	if p, ok := passkeyProblem(err); ok {
		return p
	}
	switch {
	case errors.As(err, &reqErr):
		return reqErr.p
	case errors.As(err, &mfaReq):
		p := newProblem(codeMFARequired, "The password is right; finish the login with a second factor at /auth/mfa/verify.")
		p.MFAToken, p.Methods = mfaReq.Token, mfaReq.Methods
		return p
	case errors.Is(err, auth.ErrInvalidMFAToken):
		return newProblem(codeInvalidToken, "The mfa_token is invalid, used or expired; log in again.")
	case errors.Is(err, auth.ErrMFAAlreadyEnabled):
		return newProblem(codeMFAAlreadyEnabled, "The second factor is already enabled.")
	case errors.Is(err, auth.ErrMFANotEnabled):
		return newProblem(codeMFANotEnabled, "The second factor is not enabled.")
	case errors.Is(err, errNoSecondFactor):
		return newProblem(codeInsufficientAuthentication, "This route requires a session signed in with a second factor.")
	case errors.Is(err, errNoToken):
		p := newProblem(codeInvalidToken, detailTokenNone)
		p.wwwAuthenticate = `Bearer`
		return p
	case errors.Is(err, auth.ErrInvalidToken):
		p := newProblem(codeInvalidToken, detailTokenBad)
		p.wwwAuthenticate = `Bearer error="invalid_token"`
		return p
	case errors.Is(err, auth.ErrInvalidCredentials):
		return newProblem(codeInvalidCredentials, "Incorrect username or password.")
	case errors.Is(err, auth.ErrInvalidRefreshToken):
		return newProblem(codeInvalidRefreshToken, "The refresh token is invalid, expired or revoked.")
	case errors.Is(err, auth.ErrNoPassword):
		p := newProblem(codeBadRequest, "This account has no password: it signs in with passkeys or providers only. Set one through forgot-password first.")
		p.Errors = []fieldError{{Field: "current_password", Code: "no_password", Message: "This account has no password."}}
		return p
	case errors.Is(err, auth.ErrInvalidPassword):
		return newProblem(codeInvalidPassword, "The current password is incorrect.")
	case errors.Is(err, auth.ErrInvalidCode):
		return newProblem(codeInvalidCode, "The code is invalid or has expired.")
	case errors.Is(err, auth.ErrEmailNotVerified):
		return newProblem(codeEmailNotVerified, "The email address has not been verified.")
	case errors.Is(err, auth.ErrInactiveUser):
		return newProblem(codeInactiveUser, "The account is disabled.")
	case errors.Is(err, errCrossOrigin):
		return newProblem(codeForbidden, "A form may be posted only from the same origin; send JSON instead.")
	case errors.Is(err, errCrossSite):
		return newProblem(codeForbidden, detailCrossSite)
	case errors.Is(err, errForbidden):
		return newProblem(codeForbidden, "This endpoint is reserved to superusers.")
	case errors.Is(err, auth.ErrRedirectURI):
		return newProblem(codeInvalidRedirectURI, "The redirect_uri is not one of the configured redirect URIs.")
	case errors.Is(err, auth.ErrInvalidState):
		return newProblem(codeInvalidState, "The sign-in with the provider is unknown, used or expired; start again.")
	case errors.Is(err, auth.ErrLastLoginMethod):
		return newProblem(codeLastLoginMethod, "This is the account's last way to sign in; first add a passkey, link a provider or set a password (through forgot-password).")
	case errors.Is(err, auth.ErrNotFound), errors.Is(err, errRouteNotFound), errors.Is(err, auth.ErrMFAOff), errors.Is(err, auth.ErrUnknownProvider):
		return newProblem(codeNotFound, detailNotFound)
	case errors.As(err, &exists):
		p := newProblem(codeUserExists, "An account with this "+exists.Field+" already exists.")
		p.Errors = []fieldError{{Field: exists.Field, Code: "taken", Message: "This " + exists.Field + " is already registered."}}
		return p
	case errors.As(err, &invalid):
		p := newProblem(codeValidationFailed, "The request contains invalid values.")
		p.Errors = make([]fieldError, len(invalid.Errors))
		for i, f := range invalid.Errors {
			p.Errors[i] = fieldError{Field: f.Field, Code: f.Code, Message: f.Message}
		}
		return p
	case errors.As(err, &limited):
		p := newProblem(codeRateLimited, "Too many requests; retry later.")
		p.retryAfter = limited.RetryAfter
		return p
	case errors.As(err, &retryErr):
		p := newProblem(retryErr.code, retryErr.detail)
		p.retryAfter = retryErr.after
		return p
	case errors.As(err, &unavail):
		h.logger.LogAttrs(r.Context(), slog.LevelWarn, "httpauth: service unavailable",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		p := newProblem(codeUnavailable, detailUnavailable)
		p.retryAfter = unavail.RetryAfter
		return p
	case r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		// The client went away or the server's deadline passed: nobody
		// reads this answer, and it is no fault of ours.
		return newProblem(codeUnavailable, detailUnavailable)
	default:
		h.logger.LogAttrs(r.Context(), slog.LevelError, "httpauth: internal error",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		return newProblem(codeInternal, detailInternal)
	}
}

// retryError is a 429 or 503 decided by this package (the per-IP limit, a
// failing limiter), with the delay for Retry-After.
type retryError struct {
	code   string
	detail string
	after  time.Duration
}

func (e *retryError) Error() string { return "httpauth: " + e.detail }

// writeError answers err as a problem document.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeProblem(w, h.toProblem(r, err))
}

// writeProblem writes p with its headers. Every problem is uncacheable.
func writeProblem(w http.ResponseWriter, p *problem) {
	hdr := w.Header()
	setSecurityHeaders(hdr)
	if p.wwwAuthenticate != "" {
		hdr.Set("WWW-Authenticate", p.wwwAuthenticate)
	}
	if p.Status == http.StatusTooManyRequests || p.Status == http.StatusServiceUnavailable {
		hdr.Set("Retry-After", retryAfterSeconds(p.retryAfter))
	}
	// A problem holds only strings, an int and a slice of strings:
	// encoding it cannot fail.
	body, _ := json.Marshal(p)
	hdr.Set("Content-Type", "application/problem+json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// retryAfterSeconds formats d as a Retry-After delay: whole seconds, rounded
// up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	s := math.Ceil(d.Seconds())
	if s < 1 {
		s = 1
	}
	if s > 86400 {
		s = 86400
	}
	return strconv.Itoa(int(s))
}

// setSecurityHeaders sets the headers every response of this package carries:
// no MIME sniffing, no caching (bodies hold tokens and personal data), no
// referrer.
func setSecurityHeaders(hdr http.Header) {
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
}
