package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/oauthlogin"
	"github.com/forgeauth/forgeauth/store"
)

// OAuthConfig configures sign-in with other providers (DESIGN §10). It needs
// Complete mode and a store that implements [store.Identities] and
// [store.Tickets].
type OAuthConfig struct {
	// Providers are the configured providers (oauthlogin.Discover,
	// oauthlogin.NewGitHub), by their distinct names. None turns the
	// feature off.
	Providers []oauthlogin.Provider
	// RedirectURIs are the application URLs a flow may return to, compared
	// exactly. At least one is required with providers.
	RedirectURIs []string
}

// The conditions of the provider flows.
var (
	// ErrUnknownProvider: no provider of that name is configured.
	ErrUnknownProvider = errors.New("auth: unknown provider")
	// ErrRedirectURI: a redirect_uri that is not in
	// OAuthConfig.RedirectURIs.
	ErrRedirectURI = errors.New("auth: redirect_uri is not allowed")
	// ErrInvalidState: a callback whose state names no flow in progress
	// (unknown, used or expired): there is nowhere safe to send it back.
	ErrInvalidState = errors.New("auth: unknown or used state")
	// ErrLastLoginMethod: removing the user's last way to sign in.
	ErrLastLoginMethod = errors.New("auth: last way to sign in")
)

// The audit events of the provider flows.
const (
	EventProviderLogin    EventKind = "provider_login_succeeded"
	EventProviderFailed   EventKind = "provider_login_failed"
	EventIdentityLinked   EventKind = "identity_linked"
	EventIdentityUnlinked EventKind = "identity_unlinked"
)

// The error codes a callback sends back to the application in the
// fragment ("#error=..."), stable like the problem codes.
const (
	OAuthErrInvalidState        = "invalid_state"        // the browser's cookie is missing or does not match the state
	OAuthErrAccessDenied        = "access_denied"        // the user declined at the provider
	OAuthErrProvider            = "provider_error"       // the provider sent another error
	OAuthErrProviderUnavailable = "provider_unavailable" // the provider did not answer in time
	OAuthErrInvalidIDToken      = "invalid_id_token"     // the provider's answer failed verification
	OAuthErrEmailMissing        = "email_missing"        // no usable (for GitHub: primary, verified) email
	OAuthErrAccountExists       = "account_exists"       // the email belongs to an account: sign in to it and link
	OAuthErrIdentityInUse       = "identity_in_use"      // linking a provider account that belongs to another user
	OAuthErrInactiveUser        = "inactive_user"        // the account is disabled
	OAuthErrEmailNotVerified    = "email_not_verified"   // the account's email is not verified yet
	OAuthErrServer              = "server_error"         // the store failed; try again
)

// The lifetimes of the flow state and of the exchange code.
const (
	OAuthFlowTTL     = 10 * time.Minute
	OAuthExchangeTTL = 60 * time.Second
)

// Ticket kinds.
const (
	ticketOAuthFlow     = "oauth_flow"
	ticketOAuthExchange = "oauth_exchange"
)

type oauthSetup struct {
	providers  map[string]oauthlogin.Provider
	names      []string
	redirects  []string
	identities store.Identities
	tickets    store.Tickets
	cookieKey  []byte
}

func (s *Service) newOAuth(cfg OAuthConfig) (*oauthSetup, error) {
	if len(cfg.Providers) == 0 {
		return nil, nil
	}
	if s.mode != ModeComplete {
		return nil, errors.New("auth: sign-in with providers needs complete mode")
	}
	o := &oauthSetup{providers: map[string]oauthlogin.Provider{}, redirects: slices.Clone(cfg.RedirectURIs)}
	var ok bool
	if o.identities, ok = s.store.(store.Identities); !ok {
		return nil, errors.New("auth: sign-in with providers needs a store that implements store.Identities")
	}
	if o.tickets, ok = s.store.(store.Tickets); !ok {
		return nil, errors.New("auth: sign-in with providers needs a store that implements store.Tickets")
	}
	for _, p := range cfg.Providers {
		name := p.Name()
		if name == "" || name != strings.ToLower(name) || strings.ContainsAny(name, "/?#% ") {
			return nil, fmt.Errorf("auth: provider name %q must be lower case, without /?#%% or spaces", name)
		}
		if _, dup := o.providers[name]; dup {
			return nil, fmt.Errorf("auth: provider %q is configured twice", name)
		}
		o.providers[name] = p
		o.names = append(o.names, name)
	}
	slices.Sort(o.names)
	if len(o.redirects) == 0 {
		return nil, errors.New("auth: OAuthConfig.RedirectURIs must list at least one URI")
	}
	o.cookieKey = derive(s.codeKey, "forgeauth oauth flow cookie key v1")
	return o, nil
}

// OAuthProviders returns the names of the configured providers, sorted;
// none when sign-in with providers is off.
func (s *Service) OAuthProviders() []string {
	if s.oauth == nil {
		return nil
	}
	return slices.Clone(s.oauth.names)
}

// OAuthStart is how a provider flow begins: send the browser to URL, and
// set Cookie (HttpOnly, Secure, SameSite=Lax, for CookieMaxAge) so the
// callback knows the browser that began the flow.
type OAuthStart struct {
	URL          string
	Cookie       string
	CookieMaxAge time.Duration
}

// flowData is what the flow's ticket keeps between the redirect and the
// callback.
type flowData struct {
	Provider string `json:"p"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Redirect string `json:"r"`
	LinkUser string `json:"u,omitempty"`
}

// BeginOAuth starts a sign-in (or sign-up) with the provider that returns
// to redirectURI. It returns [ErrNotEnabled] when no provider is
// configured, [ErrUnknownProvider], [ErrRedirectURI] when redirectURI is
// not in OAuthConfig.RedirectURIs exactly, and an *[UnavailableError] when
// the store cannot be reached.
func (s *Service) BeginOAuth(ctx context.Context, provider, redirectURI string) (OAuthStart, error) {
	return s.beginOAuth(ctx, provider, redirectURI, "")
}

func (s *Service) beginOAuth(ctx context.Context, provider, redirectURI, linkUser string) (OAuthStart, error) {
	if s.oauth == nil {
		return OAuthStart{}, ErrNotEnabled
	}
	p, ok := s.oauth.providers[provider]
	if !ok {
		return OAuthStart{}, ErrUnknownProvider
	}
	if !slices.Contains(s.oauth.redirects, redirectURI) {
		return OAuthStart{}, ErrRedirectURI
	}
	f, err := oauthlogin.NewFlow(s.rand)
	if err != nil {
		return OAuthStart{}, err
	}
	data, err := json.Marshal(flowData{Provider: provider, Nonce: f.Nonce, Verifier: f.Verifier, Redirect: redirectURI, LinkUser: linkUser})
	if err != nil {
		return OAuthStart{}, fmt.Errorf("auth: %w", err)
	}
	now := s.now().UTC()
	exp := now.Add(OAuthFlowTTL)
	if err := s.oauth.tickets.PutTicket(ctx, store.Ticket{
		Kind: ticketOAuthFlow, Digest: sha256Hex(f.State), UserID: linkUser, Data: data, ExpiresAt: exp, CreatedAt: now,
	}); err != nil {
		return OAuthStart{}, storeErr("put flow", err)
	}
	return OAuthStart{
		URL:          p.AuthCodeURL(f),
		Cookie:       oauthlogin.Seal(s.oauth.cookieKey, provider+"\n"+f.State, exp),
		CookieMaxAge: OAuthFlowTTL,
	}, nil
}

// LinkOAuth starts linking a provider account to the signed-in user: the
// current password is required, and the callback then links instead of
// signing in. It returns the errors of BeginOAuth, [ErrInvalidPassword]
// for a wrong password (a user without a password sets one first through
// forgot-password), [ErrInvalidToken] when the user is gone, and a
// *[RateLimitError] after too many wrong passwords.
func (s *Service) LinkOAuth(ctx context.Context, id Identity, provider, currentPassword, redirectURI string, c Client) (OAuthStart, error) {
	if s.oauth == nil {
		return OAuthStart{}, ErrNotEnabled
	}
	if _, ok := s.oauth.providers[provider]; !ok {
		return OAuthStart{}, ErrUnknownProvider
	}
	if !slices.Contains(s.oauth.redirects, redirectURI) {
		return OAuthStart{}, ErrRedirectURI
	}
	u, err := s.checkCurrentPassword(ctx, id, currentPassword, c, EventIdentityLinked)
	if err != nil {
		return OAuthStart{}, err
	}
	return s.beginOAuth(ctx, provider, redirectURI, u.ID)
}

// OAuthResult is where a callback sends the browser: RedirectURI with a
// fragment of Code (sign-in: the one-time exchange code for
// [Service.ExchangeOAuthCode]), Linked (the provider linked), or Error (one
// of the OAuthErr codes).
type OAuthResult struct {
	RedirectURI string
	Code        string
	Linked      string
	Error       string
}

// Fragment returns the URL fragment for the application, without "#".
func (r OAuthResult) Fragment() string {
	switch {
	case r.Error != "":
		return "error=" + r.Error
	case r.Linked != "":
		return "linked=" + r.Linked
	}
	return "code=" + r.Code
}

// FinishOAuth completes a flow at the provider's callback, with the
// cookie set by BeginOAuth or LinkOAuth, and the callback's state, code
// and error parameters. The flow's state works once.
//
// It returns [ErrInvalidState] (and no result) when the state names no flow
// in progress, and [ErrNotEnabled] or [ErrUnknownProvider]. Every other
// failure is a result with Error set and signs no one in: a cookie that is
// missing or does not match the state, an error from the provider, a
// provider that does not answer within its timeout, an answer that fails
// verification (PKCE, ID token issuer, audience, expiry, nonce), no usable
// email, and an email that belongs to another account (a provider account
// is found by (provider, subject) only and never linked by its email).
//
// A new provider account with an email nobody has makes a user without a
// password, verified only if the provider verified the email. A pending,
// unverified registration of the email is replaced when the provider
// verified it (as a registration replaces it).
func (s *Service) FinishOAuth(ctx context.Context, provider, cookie, state, code, providerError string, c Client) (OAuthResult, error) {
	if s.oauth == nil {
		return OAuthResult{}, ErrNotEnabled
	}
	p, ok := s.oauth.providers[provider]
	if !ok {
		return OAuthResult{}, ErrUnknownProvider
	}
	if state == "" {
		return OAuthResult{}, ErrInvalidState
	}
	now := s.now().UTC()
	t, err := s.oauth.tickets.TakeTicket(ctx, ticketOAuthFlow, sha256Hex(state), now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.emit(ctx, EventProviderFailed, OutcomeFailure, "", "", c, "unknown_state")
		return OAuthResult{}, ErrInvalidState
	case err != nil:
		return OAuthResult{}, storeErr("take flow", err)
	}
	var fd flowData
	if err := json.Unmarshal(t.Data, &fd); err != nil {
		return OAuthResult{}, fmt.Errorf("auth: flow data: %w", err)
	}
	res := OAuthResult{RedirectURI: fd.Redirect}
	fail := func(code, reason string) (OAuthResult, error) {
		s.emit(ctx, EventProviderFailed, OutcomeFailure, fd.LinkUser, "", c, reason)
		res.Error = code
		return res, nil
	}
	bound, err := oauthlogin.Open(s.oauth.cookieKey, cookie, now)
	if err != nil || fd.Provider != provider ||
		subtle.ConstantTimeCompare([]byte(bound), []byte(provider+"\n"+state)) != 1 {
		return fail(OAuthErrInvalidState, "state_mismatch")
	}
	if providerError != "" {
		if providerError == "access_denied" {
			return fail(OAuthErrAccessDenied, "access_denied")
		}
		return fail(OAuthErrProvider, "provider_error")
	}
	profile, err := p.Exchange(ctx, code, oauthlogin.Flow{State: state, Nonce: fd.Nonce, Verifier: fd.Verifier})
	switch {
	case errors.Is(err, oauthlogin.ErrUnavailable):
		s.log.WarnContext(ctx, "auth: provider unavailable", "provider", provider, "error", err)
		return fail(OAuthErrProviderUnavailable, "provider_unavailable")
	case errors.Is(err, oauthlogin.ErrNoEmail):
		return fail(OAuthErrEmailMissing, "email_missing")
	case err != nil:
		s.log.WarnContext(ctx, "auth: provider answer rejected", "provider", provider, "error", err)
		return fail(OAuthErrInvalidIDToken, "invalid_id_token")
	}
	if fd.LinkUser != "" {
		return s.linkIdentity(ctx, res, fd, profile, c, fail)
	}
	u, errCode, reason := s.providerUser(ctx, provider, profile, c)
	if errCode != "" {
		return fail(errCode, reason)
	}
	if !u.IsActive {
		return fail(OAuthErrInactiveUser, "inactive")
	}
	if s.requireVerified && !u.IsVerified {
		return fail(OAuthErrEmailNotVerified, "email_not_verified")
	}
	exchange, err := s.newSecret()
	if err != nil {
		s.log.ErrorContext(ctx, "auth: making an exchange code failed", "error", err)
		return fail(OAuthErrServer, "random_failed")
	}
	if err := s.oauth.tickets.PutTicket(ctx, store.Ticket{
		Kind: ticketOAuthExchange, Digest: sha256Hex(exchange), UserID: u.ID, Data: []byte(provider),
		ExpiresAt: now.Add(OAuthExchangeTTL), CreatedAt: now,
	}); err != nil {
		s.log.ErrorContext(ctx, "auth: storing an exchange code failed", "error", err)
		return fail(OAuthErrServer, "store_failed")
	}
	res.Code = exchange
	return res, nil
}

// providerUser finds the user of the provider account, by (provider,
// subject) only, or makes one. A failure is an OAuthErr code and a reason.
func (s *Service) providerUser(ctx context.Context, provider string, p oauthlogin.Profile, c Client) (store.User, string, string) {
	ident, err := s.oauth.identities.IdentityBySubject(ctx, provider, p.Subject)
	switch {
	case err == nil:
		u, err := s.store.UserByID(ctx, ident.UserID)
		if err != nil {
			s.log.ErrorContext(ctx, "auth: loading the user of an identity failed", "error", err)
			return store.User{}, OAuthErrServer, "store_failed"
		}
		return u, "", ""
	case !errors.Is(err, store.ErrNotFound):
		s.log.ErrorContext(ctx, "auth: finding an identity failed", "error", err)
		return store.User{}, OAuthErrServer, "store_failed"
	}

	email := normalize(p.Email)
	if len(checkEmail(email)) > 0 {
		return store.User{}, OAuthErrEmailMissing, "email_invalid"
	}
	// Never link by email: an account that holds the address is the
	// owner's to link from a signed-in session. Only a pending,
	// unverified registration gives way to a provider that verified the
	// address, as it gives way to the owner's own registration.
	holder, err := s.store.UserByEmail(ctx, email)
	replace := false
	switch {
	case err == nil:
		if holder.IsVerified || !p.EmailVerified || !s.requireVerified {
			return s.madeMeanwhile(ctx, provider, p, OAuthErrAccountExists, "account_exists")
		}
		replace = true
	case !errors.Is(err, store.ErrNotFound):
		s.log.ErrorContext(ctx, "auth: finding a user by email failed", "error", err)
		return store.User{}, OAuthErrServer, "store_failed"
	}
	now := s.now().UTC()
	u := store.User{
		Email: email, IsActive: true, IsVerified: p.EmailVerified,
		CreatedAt: now, UpdatedAt: now,
	}
	for attempt := range 4 {
		if u.ID, err = s.newID(); err != nil {
			return store.User{}, OAuthErrServer, "random_failed"
		}
		if u.Username, err = s.providerUsername(email, attempt); err != nil {
			return store.User{}, OAuthErrServer, "random_failed"
		}
		identID, err := s.newID()
		if err != nil {
			return store.User{}, OAuthErrServer, "random_failed"
		}
		err = s.oauth.identities.CreateUserWithIdentity(ctx, u, store.Identity{
			ID: identID, UserID: u.ID, Provider: provider, Subject: p.Subject, Email: email, CreatedAt: now,
		}, replace)
		var conflict *store.ConflictError
		switch {
		case err == nil:
			s.emit(ctx, EventRegistered, OutcomeSuccess, u.ID, "", c, "")
			return u, "", ""
		case errors.As(err, &conflict) && conflict.Field == store.FieldUsername:
			continue // another name
		case errors.As(err, &conflict) && conflict.Field == store.FieldEmail:
			return s.madeMeanwhile(ctx, provider, p, OAuthErrAccountExists, "account_exists")
		case errors.As(err, &conflict) && conflict.Field == store.FieldIdentity:
			return s.madeMeanwhile(ctx, provider, p, OAuthErrServer, "store_failed")
		default:
			s.log.ErrorContext(ctx, "auth: creating a provider user failed", "error", err)
			return store.User{}, OAuthErrServer, "store_failed"
		}
	}
	return store.User{}, OAuthErrServer, "username_taken"
}

// madeMeanwhile is the user of the provider account when another callback
// of it (a second tab) made the account since providerUser looked for it,
// and otherwise the failure code and reason given.
func (s *Service) madeMeanwhile(ctx context.Context, provider string, p oauthlogin.Profile, code, reason string) (store.User, string, string) {
	ident, err := s.oauth.identities.IdentityBySubject(ctx, provider, p.Subject)
	if err == nil {
		var u store.User
		if u, err = s.store.UserByID(ctx, ident.UserID); err == nil {
			return u, "", ""
		}
	}
	if !errors.Is(err, store.ErrNotFound) {
		s.log.ErrorContext(ctx, "auth: finding an identity failed", "error", err)
		return store.User{}, OAuthErrServer, "store_failed"
	}
	return store.User{}, code, reason
}

// providerUsername derives a username from the email's local part: as it
// is first, then with a random suffix.
func (s *Service) providerUsername(email string, attempt int) (string, error) {
	local := email[:strings.LastIndexByte(email, '@')]
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return -1
	}, local)
	if len(name) > 20 {
		name = name[:20]
	}
	if attempt == 0 && len(checkUsername(name)) == 0 {
		return name, nil
	}
	suffix, err := s.newSecret()
	if err != nil {
		return "", err
	}
	if name == "" {
		name = "user"
	}
	return name + "-" + strings.ToLower(suffix[:8]), nil
}

func (s *Service) linkIdentity(ctx context.Context, res OAuthResult, fd flowData, p oauthlogin.Profile, c Client,
	fail func(code, reason string) (OAuthResult, error)) (OAuthResult, error) {
	existing, err := s.oauth.identities.IdentityBySubject(ctx, fd.Provider, p.Subject)
	switch {
	case err == nil && existing.UserID == fd.LinkUser:
		res.Linked = fd.Provider // linked already
		return res, nil
	case err == nil:
		return fail(OAuthErrIdentityInUse, "identity_in_use")
	case !errors.Is(err, store.ErrNotFound):
		s.log.ErrorContext(ctx, "auth: finding an identity failed", "error", err)
		return fail(OAuthErrServer, "store_failed")
	}
	// The user as they are now: one disabled (or deleted) since the link
	// began gets no new way to sign in.
	u, err := s.store.UserByID(ctx, fd.LinkUser)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail(OAuthErrInvalidState, "user_gone")
	case err != nil:
		s.log.ErrorContext(ctx, "auth: finding the linking user failed", "error", err)
		return fail(OAuthErrServer, "store_failed")
	case !u.IsActive:
		return fail(OAuthErrInactiveUser, "inactive")
	}
	id, err := s.newID()
	if err != nil {
		s.log.ErrorContext(ctx, "auth: making an identity ID failed", "error", err)
		return fail(OAuthErrServer, "random_failed")
	}
	err = s.oauth.identities.AddIdentity(ctx, store.Identity{
		ID: id, UserID: fd.LinkUser, Provider: fd.Provider, Subject: p.Subject,
		Email: normalize(p.Email), CreatedAt: s.now().UTC(),
	})
	var conflict *store.ConflictError
	switch {
	case errors.As(err, &conflict):
		return fail(OAuthErrIdentityInUse, "identity_in_use")
	case errors.Is(err, store.ErrNotFound):
		return fail(OAuthErrInvalidState, "user_gone")
	case err != nil:
		s.log.ErrorContext(ctx, "auth: linking an identity failed", "error", err)
		return fail(OAuthErrServer, "store_failed")
	}
	s.emit(ctx, EventIdentityLinked, OutcomeSuccess, fd.LinkUser, "", c, "")
	s.notify(ctx, u, NoticeIdentityLinked, mailer.Notice{})
	res.Linked = fd.Provider
	return res, nil
}

// ExchangeOAuthCode trades the one-time exchange code of a provider
// sign-in (60 seconds, single use) for tokens, starting a device session
// described by c. It returns [ErrInvalidCode] for a code that is unknown,
// used or expired, [ErrInactiveUser] and [ErrEmailNotVerified] as Login
// does, [ErrNotEnabled] when no provider is configured, and an
// *[UnavailableError] when the store cannot be reached.
func (s *Service) ExchangeOAuthCode(ctx context.Context, code string, c Client) (Tokens, error) {
	if s.oauth == nil {
		return Tokens{}, ErrNotEnabled
	}
	t, err := s.oauth.tickets.TakeTicket(ctx, ticketOAuthExchange, sha256Hex(code), s.now().UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.emit(ctx, EventProviderFailed, OutcomeFailure, "", "", c, "invalid_exchange_code")
		return Tokens{}, ErrInvalidCode
	case err != nil:
		return Tokens{}, storeErr("take exchange code", err)
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Tokens{}, ErrInvalidCode
	case err != nil:
		return Tokens{}, storeErr("find user", err)
	case !u.IsActive:
		return Tokens{}, ErrInactiveUser
	case s.requireVerified && !u.IsVerified:
		return Tokens{}, ErrEmailNotVerified
	}
	return s.startProviderSession(ctx, u, string(t.Data), c)
}

// startProviderSession is the one place where a provider sign-in becomes
// a session: the session start of Login, bound to the user's hash as read
// (a password change or a disabling meanwhile wins). A user with a second
// factor gets its challenge (an *MFARequiredError) here, before any token
// is issued, exactly as after a password; the session then carries
// amr ["otp","mfa"].
func (s *Service) startProviderSession(ctx context.Context, u store.User, provider string, c Client) (Tokens, error) {
	if err := s.challengeMFA(ctx, u, c, firstProvider); err != nil {
		return Tokens{}, err
	}
	t, err := s.startSession(ctx, u, s.now().UTC(), c, nil)
	if err != nil {
		return Tokens{}, err
	}
	t.DeviceToken = s.newDeviceToken(u.ID)
	s.emit(ctx, EventProviderLogin, OutcomeSuccess, u.ID, t.SessionID, c, provider)
	return t, nil
}

// Identities lists the signed-in user's provider identities, oldest first.
// It returns [ErrNotEnabled] when no provider is configured.
func (s *Service) Identities(ctx context.Context, id Identity) ([]store.Identity, error) {
	if s.oauth == nil {
		return nil, ErrNotEnabled
	}
	list, err := s.oauth.identities.Identities(ctx, id.Claims.UserID)
	if err != nil {
		return nil, storeErr("identities", err)
	}
	return list, nil
}

// UnlinkIdentity removes one of the signed-in user's identities. It returns
// [ErrNotFound] for an identity the user does not have (someone else's
// included), [ErrLastLoginMethod] when it is the user's last way to sign
// in (no password, no other identity), and [ErrNotEnabled].
func (s *Service) UnlinkIdentity(ctx context.Context, id Identity, identityID string, c Client) error {
	if s.oauth == nil {
		return ErrNotEnabled
	}
	err := s.oauth.identities.DeleteIdentity(ctx, id.Claims.UserID, identityID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrLastLoginMethod):
		s.emit(ctx, EventIdentityUnlinked, OutcomeFailure, id.Claims.UserID, id.Claims.SessionID, c, "last_login_method")
		return ErrLastLoginMethod
	case err != nil:
		return storeErr("delete identity", err)
	}
	s.emit(ctx, EventIdentityUnlinked, OutcomeSuccess, id.Claims.UserID, id.Claims.SessionID, c, "")
	return nil
}

// newSecret returns a 256-bit random value, base64url without padding.
func (s *Service) newSecret() (string, error) {
	f, err := oauthlogin.NewFlow(s.rand)
	if err != nil {
		return "", err
	}
	return f.State, nil
}

func sha256Hex(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}
