package auth_test

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/oauthlogin"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// The error paths of the provider flows (auth/providers.go), driven
// without HTTP: the provider is a stub that answers Exchange with a set
// profile, and the store fails where a test says so. The whole chain
// against a real OpenID provider is httpauth's providers tests.

const oauthRedirect = "https://app.example.com/signed-in"

// stubProvider is an oauthlogin.Provider whose Exchange answers the set
// profile or error, and counts its calls.
type stubProvider struct {
	name    string
	mu      sync.Mutex
	profile oauthlogin.Profile
	err     error
	calls   int
}

func (p *stubProvider) Name() string { return p.name }

func (p *stubProvider) AuthCodeURL(f oauthlogin.Flow) string {
	return "https://idp.example.com/" + p.name + "/authorize?state=" + url.QueryEscape(f.State)
}

func (p *stubProvider) Exchange(_ context.Context, code string, _ oauthlogin.Flow) (oauthlogin.Profile, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if code == "" {
		return oauthlogin.Profile{}, oauthlogin.ErrRejected
	}
	return p.profile, p.err
}

func (p *stubProvider) set(profile oauthlogin.Profile, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.profile, p.err = profile, err
}

func (p *stubProvider) exchanges() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// oauthStore is failingStore (while down, the user lookups fail) with the
// identities and tickets of the store underneath. Each of those methods
// first takes the next error queued for it by name (fail), and runs the
// hook set for it (after) once the real call has returned.
type oauthStore struct {
	*failingStore
	ids store.Identities
	tix store.Tickets

	mu        sync.Mutex
	queued    map[string][]error
	after     map[string]func()
	usernames []string // every username CreateUserWithIdentity was asked for
}

func newOAuthStore(tb testing.TB, newStore storeFactory) *oauthStore {
	inner := newStore(tb)
	return &oauthStore{
		failingStore: &failingStore{Store: inner},
		ids:          inner.(store.Identities),
		tix:          inner.(store.Tickets),
		queued:       map[string][]error{},
		after:        map[string]func(){},
	}
}

// fail queues errs for the next calls of method, one call each.
func (s *oauthStore) fail(method string, errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued[method] = append(s.queued[method], errs...)
}

// pending returns how many queued errors of method are still unused.
func (s *oauthStore) pending(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queued[method])
}

// hook runs fn, once, after the next call of method.
func (s *oauthStore) hook(method string, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.after[method] = fn
}

func (s *oauthStore) enter(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queued[method]; len(q) > 0 {
		s.queued[method] = q[1:]
		return q[0]
	}
	return nil
}

func (s *oauthStore) leave(method string) {
	s.mu.Lock()
	fn := s.after[method]
	delete(s.after, method)
	s.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// UserByEmail is failingStore's, with the hook.
func (s *oauthStore) UserByEmail(ctx context.Context, email string) (store.User, error) {
	defer s.leave("UserByEmail")
	return s.failingStore.UserByEmail(ctx, email)
}

func (s *oauthStore) CreateUserWithIdentity(ctx context.Context, u store.User, id store.Identity, replace bool) error {
	s.mu.Lock()
	s.usernames = append(s.usernames, u.Username)
	s.mu.Unlock()
	if err := s.enter("CreateUserWithIdentity"); err != nil {
		return err
	}
	defer s.leave("CreateUserWithIdentity")
	return s.ids.CreateUserWithIdentity(ctx, u, id, replace)
}

func (s *oauthStore) AddIdentity(ctx context.Context, id store.Identity) error {
	if err := s.enter("AddIdentity"); err != nil {
		return err
	}
	defer s.leave("AddIdentity")
	return s.ids.AddIdentity(ctx, id)
}

func (s *oauthStore) IdentityBySubject(ctx context.Context, provider, subject string) (store.Identity, error) {
	if err := s.enter("IdentityBySubject"); err != nil {
		return store.Identity{}, err
	}
	defer s.leave("IdentityBySubject")
	return s.ids.IdentityBySubject(ctx, provider, subject)
}

func (s *oauthStore) Identities(ctx context.Context, userID string) ([]store.Identity, error) {
	if err := s.enter("Identities"); err != nil {
		return nil, err
	}
	defer s.leave("Identities")
	return s.ids.Identities(ctx, userID)
}

func (s *oauthStore) DeleteIdentity(ctx context.Context, userID, identityID string) error {
	if err := s.enter("DeleteIdentity"); err != nil {
		return err
	}
	defer s.leave("DeleteIdentity")
	return s.ids.DeleteIdentity(ctx, userID, identityID)
}

func (s *oauthStore) PutTicket(ctx context.Context, t store.Ticket) error {
	if err := s.enter("PutTicket"); err != nil {
		return err
	}
	defer s.leave("PutTicket")
	return s.tix.PutTicket(ctx, t)
}

func (s *oauthStore) TakeTicket(ctx context.Context, kind, digest string, at time.Time) (store.Ticket, error) {
	if err := s.enter("TakeTicket"); err != nil {
		return store.Ticket{}, err
	}
	defer s.leave("TakeTicket")
	return s.tix.TakeTicket(ctx, kind, digest, at)
}

// oauthFixture is a fixture with two stub providers, "acme" (OpenID
// Connect) and "github", on an oauthStore.
type oauthFixture struct {
	*fixture
	st     *oauthStore
	acme   *stubProvider
	github *stubProvider
}

func newOAuthFixture(tb testing.TB, newStore storeFactory, mutate ...func(*auth.Config)) *oauthFixture {
	tb.Helper()
	o := &oauthFixture{
		st: newOAuthStore(tb, newStore),
		acme: &stubProvider{name: "acme",
			profile: oauthlogin.Profile{Subject: "sub-1", Email: "ada@example.com", EmailVerified: true}},
		github: &stubProvider{name: "github",
			profile: oauthlogin.Profile{Subject: "4242", Email: "ada@example.com", EmailVerified: true}},
	}
	withOAuth := func(c *auth.Config) {
		c.OAuth = auth.OAuthConfig{Providers: []oauthlogin.Provider{o.acme, o.github}, RedirectURIs: []string{oauthRedirect}}
	}
	o.fixture = newFixture(tb, func(testing.TB) store.Store { return o.st }, append([]func(*auth.Config){withOAuth}, mutate...)...)
	return o
}

// begin starts a sign-in and returns the state (read from the provider
// URL) and the flow cookie.
func (o *oauthFixture) begin(tb testing.TB, provider string) (state, cookie string) {
	tb.Helper()
	start, err := o.svc.BeginOAuth(context.Background(), provider, oauthRedirect)
	require.NoError(tb, err)
	return stateOf(tb, start), start.Cookie
}

func stateOf(tb testing.TB, start auth.OAuthStart) string {
	tb.Helper()
	u, err := url.Parse(start.URL)
	require.NoError(tb, err)
	state := u.Query().Get("state")
	require.NotEmpty(tb, state)
	return state
}

// finish delivers the callback with the provider's code "provider-code".
func (o *oauthFixture) finish(tb testing.TB, provider, state, cookie string) auth.OAuthResult {
	tb.Helper()
	res, err := o.svc.FinishOAuth(context.Background(), provider, cookie, state, "provider-code", "", auth.Client{})
	require.NoError(tb, err)
	require.Equal(tb, oauthRedirect, res.RedirectURI)
	return res
}

func (o *oauthFixture) signIn(tb testing.TB, provider string) auth.OAuthResult {
	tb.Helper()
	state, cookie := o.begin(tb, provider)
	return o.finish(tb, provider, state, cookie)
}

// signedUp signs up through acme and returns the account it made.
func (o *oauthFixture) signedUp(tb testing.TB) store.User {
	tb.Helper()
	res := o.signIn(tb, "acme")
	require.Empty(tb, res.Error)
	tok, err := o.svc.ExchangeOAuthCode(context.Background(), res.Code, auth.Client{})
	require.NoError(tb, err)
	id, err := o.svc.Authenticate(context.Background(), tok.AccessToken)
	require.NoError(tb, err)
	u, err := o.store.UserByID(context.Background(), id.Claims.UserID)
	require.NoError(tb, err)
	return u
}

// noAccount asserts that no user holds the email and that the provider
// account is linked to no one.
func (o *oauthFixture) noAccount(tb testing.TB, email, provider, subject string) {
	tb.Helper()
	_, err := o.store.UserByEmail(context.Background(), email)
	require.ErrorIs(tb, err, store.ErrNotFound, "an account was left for %s", email)
	_, err = o.st.ids.IdentityBySubject(context.Background(), provider, subject)
	require.ErrorIs(tb, err, store.ErrNotFound, "an identity was left for %s/%s", provider, subject)
}

// sessionCount is the number of live sessions of the user.
func (o *oauthFixture) sessionCount(tb testing.TB, userID string) int {
	tb.Helper()
	list, err := o.store.Sessions(context.Background(), userID, o.clock.Now())
	require.NoError(tb, err)
	return len(list)
}

// lastFailure returns the reason of the last provider_login_failed event.
func (o *oauthFixture) lastFailure(tb testing.TB) string {
	tb.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.events) - 1; i >= 0; i-- {
		if o.events[i].Kind == auth.EventProviderFailed {
			return o.events[i].Reason
		}
	}
	tb.Fatal("no provider_login_failed event")
	return ""
}

func (o *oauthFixture) countEvents(kind auth.EventKind) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, e := range o.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// usernameRule is the username rule of registration (identifiers.go).
var usernameRule = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,32}$`)

// errDisk is a store failure that is not store.ErrUnavailable.
var errDisk = errors.New("disk on fire")

func unavailable() error { return fmt.Errorf("db: %w", store.ErrUnavailable) }

// TestOAuthCallbackStoreFailures: a store that fails during the callback
// sends the browser back with error=server_error, signs no one in, leaves
// no half-made account, and logs the failure without the flow's secrets.
func TestOAuthCallbackStoreFailures(t *testing.T) {
	for _, tt := range []struct {
		name     string
		existing bool // the provider account has signed up before
		arm      func(o *oauthFixture, err error)
		log      string
	}{
		{"finding the identity", false, func(o *oauthFixture, err error) { o.st.fail("IdentityBySubject", err) },
			"finding an identity failed"},
		{"loading the identity's user", true, func(o *oauthFixture, err error) { o.st.set(err) },
			"loading the user of an identity failed"},
		{"finding the email's holder", false, func(o *oauthFixture, err error) { o.st.set(err) },
			"finding a user by email failed"},
		{"creating the account", false, func(o *oauthFixture, err error) { o.st.fail("CreateUserWithIdentity", err) },
			"creating a provider user failed"},
		{"storing the exchange code", true, func(o *oauthFixture, err error) { o.st.fail("PutTicket", err) },
			"storing an exchange code failed"},
	} {
		for _, cause := range []error{unavailable(), errDisk} {
			t.Run(tt.name+"/"+cause.Error(), func(t *testing.T) {
				o := newOAuthFixture(t, newMemStore)
				var before store.User
				if tt.existing {
					before = o.signedUp(t)
				}
				state, cookie := o.begin(t, "acme")
				tt.arm(o, cause)
				res := o.finish(t, "acme", state, cookie)
				o.st.set(nil)
				assert.Equal(t, auth.OAuthErrServer, res.Error)
				assert.Empty(t, res.Code, "no exchange code")
				assert.Equal(t, "error=server_error", res.Fragment())
				assert.Equal(t, "store_failed", o.lastFailure(t))

				logs := o.logs.String()
				assert.Contains(t, logs, tt.log)
				assert.Contains(t, logs, cause.Error(), "the cause is logged")
				for _, secret := range []string{state, cookie, "provider-code"} {
					assert.NotContains(t, logs, secret)
				}

				if !tt.existing {
					o.noAccount(t, "ada@example.com", "acme", "sub-1")
					assert.Zero(t, o.countEvents(auth.EventRegistered))
					return
				}
				assert.Equal(t, 1, o.countEvents(auth.EventProviderLogin), "no sign-in but the first")
				assert.Equal(t, 1, o.sessionCount(t, before.ID), "only the first sign-in's session")
				// Once the store is back, the same provider account signs
				// in to the same account.
				assert.Equal(t, before.ID, o.signedUp(t).ID)
			})
		}
	}
}

// TestOAuthCallbackStoreFailsAfterSignUp: the account is made with its
// identity in one step; when the exchange code cannot be stored after it,
// nobody is signed in and the next sign-in finds that account, whole.
func TestOAuthCallbackStoreFailsAfterSignUp(t *testing.T) {
	o := newOAuthFixture(t, newMemStore)
	state, cookie := o.begin(t, "acme")
	o.st.fail("PutTicket", unavailable())
	res := o.finish(t, "acme", state, cookie)
	assert.Equal(t, auth.OAuthErrServer, res.Error)
	assert.Empty(t, res.Code)

	made, err := o.store.UserByEmail(context.Background(), "ada@example.com")
	require.NoError(t, err)
	ident, err := o.st.ids.IdentityBySubject(context.Background(), "acme", "sub-1")
	require.NoError(t, err)
	assert.Equal(t, made.ID, ident.UserID, "the account and its identity came together")
	assert.Zero(t, o.sessionCount(t, made.ID))
	assert.Equal(t, made.ID, o.signedUp(t).ID)
}

// TestOAuthCallbackFlowUnreadable: when the flow cannot be taken from the
// store there is nowhere safe to redirect: FinishOAuth answers an error
// (503 for an unavailable store), asks the provider nothing and makes
// nothing. A flow record that cannot be read is the same.
func TestOAuthCallbackFlowUnreadable(t *testing.T) {
	o := newOAuthFixture(t, newMemStore)
	ctx := context.Background()
	state, cookie := o.begin(t, "acme")

	o.st.fail("TakeTicket", unavailable())
	res, err := o.svc.FinishOAuth(ctx, "acme", cookie, state, "provider-code", "", auth.Client{})
	var unavail *auth.UnavailableError
	require.ErrorAs(t, err, &unavail)
	assert.Equal(t, auth.OAuthResult{}, res)

	o.st.fail("TakeTicket", errDisk)
	res, err = o.svc.FinishOAuth(ctx, "acme", cookie, state, "provider-code", "", auth.Client{})
	require.ErrorIs(t, err, errDisk)
	assert.NotErrorAs(t, err, &unavail)
	assert.Equal(t, auth.OAuthResult{}, res)

	// A flow record whose data is not a flow.
	bad, badCookie := o.begin(t, "acme")
	corrupt := &corruptTickets{Tickets: o.st.tix}
	o.st.tix = corrupt
	res, err = o.svc.FinishOAuth(ctx, "acme", badCookie, bad, "provider-code", "", auth.Client{})
	require.Error(t, err)
	assert.NotErrorIs(t, err, auth.ErrInvalidState)
	assert.Equal(t, auth.OAuthResult{}, res)
	assert.True(t, corrupt.took, "the flow was read")

	assert.Zero(t, o.acme.exchanges(), "the provider was never asked")
	o.noAccount(t, "ada@example.com", "acme", "sub-1")
}

// corruptTickets hands out every ticket it takes with data that is not
// JSON.
type corruptTickets struct {
	store.Tickets
	took bool
}

func (c *corruptTickets) TakeTicket(ctx context.Context, kind, digest string, at time.Time) (store.Ticket, error) {
	t, err := c.Tickets.TakeTicket(ctx, kind, digest, at)
	if err == nil {
		c.took = true
		t.Data = []byte("{not json")
	}
	return t, err
}

// TestOAuthProviderMismatch: a state issued for one provider that arrives
// at another provider's callback is refused (invalid_state), whichever
// flow cookie comes with it; neither provider is asked, nobody is signed
// in, and the flow is spent.
func TestOAuthProviderMismatch(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cookie func(o *oauthFixture, acmeCookie string) string
	}{
		{"with the flow's own cookie", func(_ *oauthFixture, c string) string { return c }},
		{"with a cookie of a flow of the other provider", func(o *oauthFixture, _ string) string {
			_, c := o.begin(t, "github")
			return c
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := newOAuthFixture(t, newMemStore)
			state, acmeCookie := o.begin(t, "acme")
			res := o.finish(t, "github", state, tt.cookie(o, acmeCookie))
			assert.Equal(t, auth.OAuthErrInvalidState, res.Error)
			assert.Empty(t, res.Code)
			assert.Equal(t, "state_mismatch", o.lastFailure(t))
			assert.Zero(t, o.acme.exchanges()+o.github.exchanges(), "no provider was asked")
			o.noAccount(t, "ada@example.com", "github", "4242")
			o.noAccount(t, "ada@example.com", "acme", "sub-1")

			_, err := o.svc.FinishOAuth(context.Background(), "acme", acmeCookie, state, "provider-code", "", auth.Client{})
			require.ErrorIs(t, err, auth.ErrInvalidState, "the flow is spent")
		})
	}
}

// TestOAuthProviderSentAnError: an error from the provider other than
// access_denied is provider_error; the code that may come with it is not
// traded.
func TestOAuthProviderSentAnError(t *testing.T) {
	o := newOAuthFixture(t, newMemStore)
	for _, tt := range []struct{ sent, want string }{
		{"server_error", auth.OAuthErrProvider},
		{"temporarily_unavailable", auth.OAuthErrProvider},
		{"access_denied", auth.OAuthErrAccessDenied},
	} {
		state, cookie := o.begin(t, "acme")
		res, err := o.svc.FinishOAuth(context.Background(), "acme", cookie, state, "provider-code", tt.sent, auth.Client{})
		require.NoError(t, err)
		assert.Equal(t, tt.want, res.Error, tt.sent)
		assert.Empty(t, res.Code)
	}
	assert.Zero(t, o.acme.exchanges())
	o.noAccount(t, "ada@example.com", "acme", "sub-1")
}

// TestOAuthInactiveAtCallback: a disabled account is refused at the
// callback, before any exchange code exists.
func TestOAuthInactiveAtCallback(t *testing.T) {
	o := newOAuthFixture(t, newMemStore)
	u := o.signedUp(t)
	require.NoError(t, o.store.SetActive(context.Background(), u.ID, false, o.clock.Now()))
	res := o.signIn(t, "acme")
	assert.Equal(t, auth.OAuthErrInactiveUser, res.Error)
	assert.Empty(t, res.Code)
	assert.Equal(t, "inactive", o.lastFailure(t))
}

// TestOAuthNewAccountUsername: the username of a new account comes from
// the email's local part; a taken or unusable one gets a random suffix,
// and the result always passes the username rule.
func TestOAuthNewAccountUsername(t *testing.T) {
	suffixed := func(base string) *regexp.Regexp {
		return regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `-[a-z0-9_-]{8}$`)
	}
	for _, tt := range []struct {
		email string
		want  *regexp.Regexp
	}{
		{"grace@example.com", regexp.MustCompile(`^grace$`)},
		{"ada@example.com", suffixed("ada")}, // taken by a registered user
		{"al@example.com", suffixed("al")},   // too short
		{"ada+tag@example.com", regexp.MustCompile(`^adatag$`)},
		{"a.very.long.local.part.indeed@example.com", regexp.MustCompile(`^a\.very\.long\.local\.pa$`)},
		{"+++@example.com", suffixed("user")}, // nothing usable
	} {
		t.Run(tt.email, func(t *testing.T) {
			o := newOAuthFixture(t, newMemStore)
			_, err := o.svc.Register(context.Background(), "ada", "someone-else@example.com", strongPassword, auth.Client{})
			require.NoError(t, err)
			o.acme.set(oauthlogin.Profile{Subject: "sub-x", Email: tt.email, EmailVerified: true}, nil)
			res := o.signIn(t, "acme")
			require.Empty(t, res.Error)
			u, err := o.store.UserByEmail(context.Background(), tt.email)
			require.NoError(t, err)
			assert.Regexp(t, tt.want, u.Username)
			assert.Regexp(t, usernameRule, u.Username)
		})
	}
}

// TestOAuthNewAccountUsernameRetries: a username taken meanwhile (the
// store's conflict) is retried with another name, four attempts in all,
// each name distinct and valid; after the fourth the callback ends with
// server_error and makes nothing.
func TestOAuthNewAccountUsernameRetries(t *testing.T) {
	taken := &store.ConflictError{Field: store.FieldUsername}

	t.Run("fourth attempt succeeds", func(t *testing.T) {
		o := newOAuthFixture(t, newMemStore)
		o.st.fail("CreateUserWithIdentity", taken, taken, taken)
		res := o.signIn(t, "acme")
		require.Empty(t, res.Error)
		require.NotEmpty(t, res.Code)
		require.Len(t, o.st.usernames, 4)
		assert.Equal(t, "ada", o.st.usernames[0])
		u, err := o.store.UserByEmail(context.Background(), "ada@example.com")
		require.NoError(t, err)
		assert.Equal(t, o.st.usernames[3], u.Username)
		assertDistinctValid(t, o.st.usernames)
	})

	t.Run("attempts run out", func(t *testing.T) {
		o := newOAuthFixture(t, newMemStore)
		o.st.fail("CreateUserWithIdentity", taken, taken, taken, taken, taken, taken)
		res := o.signIn(t, "acme")
		assert.Equal(t, auth.OAuthErrServer, res.Error)
		assert.Empty(t, res.Code)
		assert.Equal(t, "username_taken", o.lastFailure(t))
		assert.Len(t, o.st.usernames, 4, "four attempts")
		assert.Equal(t, 2, o.st.pending("CreateUserWithIdentity"))
		assertDistinctValid(t, o.st.usernames)
		o.noAccount(t, "ada@example.com", "acme", "sub-1")
	})

	t.Run("email taken meanwhile", func(t *testing.T) {
		o := newOAuthFixture(t, newMemStore)
		o.st.fail("CreateUserWithIdentity", &store.ConflictError{Field: store.FieldEmail})
		res := o.signIn(t, "acme")
		assert.Equal(t, auth.OAuthErrAccountExists, res.Error)
		assert.Len(t, o.st.usernames, 1, "an email conflict is not retried")
		o.noAccount(t, "ada@example.com", "acme", "sub-1")
	})
}

func assertDistinctValid(t *testing.T, names []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range names {
		assert.Regexp(t, usernameRule, n)
		assert.False(t, seen[n], "%s tried twice", n)
		seen[n] = true
	}
}

// linkFixture is Bob, with a password and a session, linking acme.
func linkFixture(t *testing.T) (*oauthFixture, store.User, auth.Identity) {
	t.Helper()
	o := newOAuthFixture(t, newMemStore)
	bob := o.verifiedUser(t, "bob")
	tok := o.login(t, "bob", strongPassword)
	id, err := o.svc.Authenticate(context.Background(), tok.AccessToken)
	require.NoError(t, err)
	o.acme.set(oauthlogin.Profile{Subject: "sub-bob", Email: "bob@example.com", EmailVerified: true}, nil)
	return o, bob, id
}

func (o *oauthFixture) beginLink(t *testing.T, id auth.Identity) (state, cookie string) {
	t.Helper()
	start, err := o.svc.LinkOAuth(context.Background(), id, "acme", strongPassword, oauthRedirect, auth.Client{})
	require.NoError(t, err)
	return stateOf(t, start), start.Cookie
}

// TestOAuthLinkUserGone: the user deleted between LinkOAuth and the
// callback links nothing: the flow went with the user (invalid state, no
// redirect), and a deletion that races the callback itself ends in
// error=invalid_state with no identity left behind.
func TestOAuthLinkUserGone(t *testing.T) {
	t.Run("deleted before the callback", func(t *testing.T) {
		o, bob, id := linkFixture(t)
		state, cookie := o.beginLink(t, id)
		require.NoError(t, o.store.DeleteUser(context.Background(), bob.ID))
		_, err := o.svc.FinishOAuth(context.Background(), "acme", cookie, state, "provider-code", "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidState)
		assert.Zero(t, o.acme.exchanges())
		o.noAccount(t, "bob@example.com", "acme", "sub-bob")
	})

	t.Run("deleted during the callback", func(t *testing.T) {
		o, bob, id := linkFixture(t)
		state, cookie := o.beginLink(t, id)
		o.st.hook("IdentityBySubject", func() {
			require.NoError(t, o.store.DeleteUser(context.Background(), bob.ID))
		})
		res := o.finish(t, "acme", state, cookie)
		assert.Equal(t, auth.OAuthErrInvalidState, res.Error)
		assert.Empty(t, res.Linked)
		assert.Equal(t, "user_gone", o.lastFailure(t))
		assert.Zero(t, o.countEvents(auth.EventIdentityLinked))
		o.noAccount(t, "bob@example.com", "acme", "sub-bob")
	})

	t.Run("disabled before the callback", func(t *testing.T) {
		o, bob, id := linkFixture(t)
		state, cookie := o.beginLink(t, id)
		require.NoError(t, o.store.SetActive(context.Background(), bob.ID, false, time.Now()))
		res := o.finish(t, "acme", state, cookie)
		assert.Equal(t, auth.OAuthErrInactiveUser, res.Error)
		assert.Empty(t, res.Linked)
		assert.Equal(t, "inactive", o.lastFailure(t))
		list, err := o.st.ids.Identities(context.Background(), bob.ID)
		require.NoError(t, err)
		assert.Empty(t, list, "a disabled user gains no way to sign in")
	})

	t.Run("gone before LinkOAuth", func(t *testing.T) {
		o, bob, id := linkFixture(t)
		require.NoError(t, o.store.DeleteUser(context.Background(), bob.ID))
		_, err := o.svc.LinkOAuth(context.Background(), id, "acme", strongPassword, oauthRedirect, auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidToken)
	})
}

// TestOAuthLinkErrors: the other ways a link ends without linking, and
// a link of the identity the user has already.
func TestOAuthLinkErrors(t *testing.T) {
	for _, tt := range []struct {
		name, want, reason string
		arm                func(o *oauthFixture)
	}{
		{"finding the identity fails", auth.OAuthErrServer, "store_failed",
			func(o *oauthFixture) { o.st.fail("IdentityBySubject", unavailable()) }},
		{"adding the identity fails", auth.OAuthErrServer, "store_failed",
			func(o *oauthFixture) { o.st.fail("AddIdentity", errDisk) }},
		{"linked to another user meanwhile", auth.OAuthErrIdentityInUse, "identity_in_use",
			func(o *oauthFixture) { o.st.fail("AddIdentity", &store.ConflictError{Field: store.FieldIdentity}) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, bob, id := linkFixture(t)
			state, cookie := o.beginLink(t, id)
			tt.arm(o)
			res := o.finish(t, "acme", state, cookie)
			assert.Equal(t, tt.want, res.Error)
			assert.Empty(t, res.Linked)
			assert.Empty(t, res.Code, "a link signs no one in")
			assert.Equal(t, tt.reason, o.lastFailure(t))
			list, err := o.st.ids.Identities(context.Background(), bob.ID)
			require.NoError(t, err)
			assert.Empty(t, list)
			assert.Zero(t, o.countEvents(auth.EventIdentityLinked))
		})
	}

	t.Run("linked already", func(t *testing.T) {
		o, bob, id := linkFixture(t)
		state, cookie := o.beginLink(t, id)
		assert.Equal(t, "acme", o.finish(t, "acme", state, cookie).Linked)
		state, cookie = o.beginLink(t, id)
		assert.Equal(t, "acme", o.finish(t, "acme", state, cookie).Linked)
		list, err := o.st.ids.Identities(context.Background(), bob.ID)
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})

	t.Run("unknown provider", func(t *testing.T) {
		o, _, id := linkFixture(t)
		_, err := o.svc.LinkOAuth(context.Background(), id, "nope", strongPassword, oauthRedirect, auth.Client{})
		require.ErrorIs(t, err, auth.ErrUnknownProvider)
	})
}

// TestOAuthExchangeUserChanged: what happened to the account between the
// callback and the exchange decides: disabled is ErrInactiveUser,
// unverified (with verification required) ErrEmailNotVerified, deleted
// ErrInvalidCode; none starts a session, and the code is spent.
func TestOAuthExchangeUserChanged(t *testing.T) {
	ctx := context.Background()
	f := false
	for _, tt := range []struct {
		name   string
		change func(o *oauthFixture, userID string)
		want   error
	}{
		{"disabled", func(o *oauthFixture, id string) {
			require.NoError(t, o.store.SetActive(ctx, id, false, o.clock.Now()))
		}, auth.ErrInactiveUser},
		{"unverified", func(o *oauthFixture, id string) {
			_, err := o.st.Store.(store.Admin).UpdateUser(ctx, id, store.UserUpdate{IsVerified: &f}, o.clock.Now())
			require.NoError(t, err)
		}, auth.ErrEmailNotVerified},
		{"deleted", func(o *oauthFixture, id string) {
			require.NoError(t, o.store.DeleteUser(ctx, id))
		}, auth.ErrInvalidCode},
		{"deleted as the code is taken", func(o *oauthFixture, id string) {
			o.st.hook("TakeTicket", func() { require.NoError(t, o.store.DeleteUser(ctx, id)) })
		}, auth.ErrInvalidCode},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := newOAuthFixture(t, newMemStore)
			u := o.signedUp(t)
			res := o.signIn(t, "acme")
			require.NotEmpty(t, res.Code)
			tt.change(o, u.ID)
			sessions := o.sessionCount(t, u.ID)
			_, err := o.svc.ExchangeOAuthCode(ctx, res.Code, auth.Client{})
			require.ErrorIs(t, err, tt.want)
			assert.Equal(t, 1, o.countEvents(auth.EventProviderLogin), "only the first sign-in")
			if tt.want == auth.ErrInvalidCode {
				return
			}
			assert.Equal(t, sessions, o.sessionCount(t, u.ID), "no new session")
			// Undone, the account signs in again, but not with that code.
			yes := true
			_, err = o.st.Store.(store.Admin).UpdateUser(ctx, u.ID, store.UserUpdate{IsActive: &yes, IsVerified: &yes}, o.clock.Now())
			require.NoError(t, err)
			_, err = o.svc.ExchangeOAuthCode(ctx, res.Code, auth.Client{})
			require.ErrorIs(t, err, auth.ErrInvalidCode, "the code is spent")
			assert.NotEmpty(t, o.signedUp(t).ID)
		})
	}

	t.Run("unverified, verification not required", func(t *testing.T) {
		o := newOAuthFixture(t, newMemStore, func(c *auth.Config) { c.AllowUnverifiedLogin = true })
		u := o.signedUp(t)
		res := o.signIn(t, "acme")
		_, err := o.st.Store.(store.Admin).UpdateUser(ctx, u.ID, store.UserUpdate{IsVerified: &f}, o.clock.Now())
		require.NoError(t, err)
		_, err = o.svc.ExchangeOAuthCode(ctx, res.Code, auth.Client{})
		require.NoError(t, err)
	})
}

// TestOAuthExchangeStoreFailures: a store that fails at the exchange is
// an *UnavailableError (or the store's error) and starts no session.
func TestOAuthExchangeStoreFailures(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		arm  func(o *oauthFixture, err error)
	}{
		{"taking the code", func(o *oauthFixture, err error) { o.st.fail("TakeTicket", err) }},
		{"loading the user", func(o *oauthFixture, err error) { o.st.set(err) }},
	} {
		for _, cause := range []error{unavailable(), errDisk} {
			t.Run(tt.name+"/"+cause.Error(), func(t *testing.T) {
				o := newOAuthFixture(t, newMemStore)
				res := o.signIn(t, "acme")
				u, err := o.store.UserByEmail(ctx, "ada@example.com")
				require.NoError(t, err)
				tt.arm(o, cause)
				_, err = o.svc.ExchangeOAuthCode(ctx, res.Code, auth.Client{})
				o.st.set(nil)
				require.ErrorIs(t, err, cause)
				var unavail *auth.UnavailableError
				assert.Equal(t, errors.Is(cause, store.ErrUnavailable), errors.As(err, &unavail))
				assert.Zero(t, o.sessionCount(t, u.ID))
				assert.Zero(t, o.countEvents(auth.EventProviderLogin))
			})
		}
	}
}

// TestOAuthExchangeConcurrent: one exchange code presented by 50 callers
// at once signs in exactly one of them, on every store.
func TestOAuthExchangeConcurrent(t *testing.T) {
	for _, sf := range []struct {
		name string
		make storeFactory
	}{{"memory", newMemStore}, {"sqlite", newSQLiteStore}, {"postgres", newPostgresStore}} {
		t.Run(sf.name, func(t *testing.T) {
			o := newOAuthFixture(t, sf.make)
			res := o.signIn(t, "acme")
			require.NotEmpty(t, res.Code)
			const n = 50
			var wg sync.WaitGroup
			errs := make([]error, n)
			toks := make([]auth.Tokens, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					toks[i], errs[i] = o.svc.ExchangeOAuthCode(context.Background(), res.Code, auth.Client{})
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for i, err := range errs {
				if err == nil {
					won++
					assert.NotEmpty(t, toks[i].AccessToken)
					continue
				}
				require.ErrorIs(t, err, auth.ErrInvalidCode)
			}
			assert.Equal(t, 1, won, "exactly one exchange wins")
			u, err := o.store.UserByEmail(context.Background(), "ada@example.com")
			require.NoError(t, err)
			assert.Equal(t, 1, o.sessionCount(t, u.ID))
		})
	}
}

// TestOAuthBeginStoreFailure: a flow that cannot be stored does not
// begin: no URL, no cookie.
func TestOAuthBeginStoreFailure(t *testing.T) {
	o, _, id := linkFixture(t)
	ctx := context.Background()
	o.st.fail("PutTicket", unavailable())
	start, err := o.svc.BeginOAuth(ctx, "acme", oauthRedirect)
	var unavail *auth.UnavailableError
	require.ErrorAs(t, err, &unavail)
	assert.Equal(t, auth.OAuthStart{}, start)

	o.st.fail("PutTicket", errDisk)
	start, err = o.svc.LinkOAuth(ctx, id, "acme", strongPassword, oauthRedirect, auth.Client{})
	require.ErrorIs(t, err, errDisk)
	assert.Equal(t, auth.OAuthStart{}, start)
}

// TestOAuthIdentitiesStoreFailures: listing and unlinking answer the
// store's failure, and an unlink that failed removed nothing.
func TestOAuthIdentitiesStoreFailures(t *testing.T) {
	o, bob, id := linkFixture(t)
	ctx := context.Background()
	state, cookie := o.beginLink(t, id)
	require.Equal(t, "acme", o.finish(t, "acme", state, cookie).Linked)
	list, err := o.svc.Identities(ctx, id)
	require.NoError(t, err)
	require.Len(t, list, 1)

	o.st.fail("Identities", unavailable())
	_, err = o.svc.Identities(ctx, id)
	var unavail *auth.UnavailableError
	require.ErrorAs(t, err, &unavail)

	o.st.fail("DeleteIdentity", unavailable())
	require.ErrorAs(t, o.svc.UnlinkIdentity(ctx, id, list[0].ID, auth.Client{}), &unavail)
	o.st.fail("DeleteIdentity", errDisk)
	require.ErrorIs(t, o.svc.UnlinkIdentity(ctx, id, list[0].ID, auth.Client{}), errDisk)
	assert.Zero(t, o.countEvents(auth.EventIdentityUnlinked))
	left, err := o.st.ids.Identities(ctx, bob.ID)
	require.NoError(t, err)
	assert.Len(t, left, 1)
}

// TestOAuthNotEnabled: without providers every entry point answers
// ErrNotEnabled (httpauth turns it into 404).
func TestOAuthNotEnabled(t *testing.T) {
	f := newFixture(t, newMemStore)
	ctx := context.Background()
	assert.Nil(t, f.svc.OAuthProviders())
	_, err := f.svc.BeginOAuth(ctx, "acme", oauthRedirect)
	require.ErrorIs(t, err, auth.ErrNotEnabled)
	_, err = f.svc.LinkOAuth(ctx, auth.Identity{}, "acme", strongPassword, oauthRedirect, auth.Client{})
	require.ErrorIs(t, err, auth.ErrNotEnabled)
	_, err = f.svc.FinishOAuth(ctx, "acme", "cookie", "state", "code", "", auth.Client{})
	require.ErrorIs(t, err, auth.ErrNotEnabled)
	_, err = f.svc.ExchangeOAuthCode(ctx, "code", auth.Client{})
	require.ErrorIs(t, err, auth.ErrNotEnabled)
	_, err = f.svc.Identities(ctx, auth.Identity{})
	require.ErrorIs(t, err, auth.ErrNotEnabled)
	require.ErrorIs(t, f.svc.UnlinkIdentity(ctx, auth.Identity{}, "id", auth.Client{}), auth.ErrNotEnabled)
}

// TestOAuthEntryErrors: the errors a flow's first step answers before
// anything is stored.
func TestOAuthEntryErrors(t *testing.T) {
	o := newOAuthFixture(t, newMemStore)
	ctx := context.Background()
	_, err := o.svc.BeginOAuth(ctx, "nope", oauthRedirect)
	require.ErrorIs(t, err, auth.ErrUnknownProvider)
	_, err = o.svc.BeginOAuth(ctx, "acme", oauthRedirect+"/more")
	require.ErrorIs(t, err, auth.ErrRedirectURI)
	_, err = o.svc.FinishOAuth(ctx, "nope", "cookie", "state", "code", "", auth.Client{})
	require.ErrorIs(t, err, auth.ErrUnknownProvider)
	_, err = o.svc.FinishOAuth(ctx, "acme", "cookie", "", "code", "", auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidState)
	_, err = o.svc.FinishOAuth(ctx, "acme", "cookie", "never-issued", "code", "", auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidState)
	assert.Equal(t, "unknown_state", o.lastFailure(t))
	_, err = o.svc.ExchangeOAuthCode(ctx, "never-issued", auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCode)
	assert.Zero(t, o.acme.exchanges())
}

// identityStore is store.Identities under a name that is not one of its
// methods, to embed.
type identityStore = store.Identities

// TestOAuthConfigErrors: New refuses a provider configuration it cannot
// serve.
func TestOAuthConfigErrors(t *testing.T) {
	acme := &stubProvider{name: "acme"}
	named := func(n string) oauthlogin.Provider { return &stubProvider{name: n} }
	for _, tt := range []struct {
		name   string
		store  func() store.Store
		mutate func(*auth.Config)
		want   string
	}{
		{"basic mode", nil, func(c *auth.Config) { c.Mode = auth.ModeBasic }, "complete mode"},
		{"store without identities", func() store.Store { return coreStore{newMemStore(t)} }, nil, "store.Identities"},
		{"store without tickets", func() store.Store {
			m := newMemStore(t)
			return struct {
				store.Store
				identityStore
			}{m, m.(store.Identities)}
		}, nil, "store.Tickets"},
		{"no redirect URIs", nil, func(c *auth.Config) { c.OAuth.RedirectURIs = nil }, "RedirectURIs"},
		{"twice", nil, func(c *auth.Config) { c.OAuth.Providers = append(c.OAuth.Providers, acme) }, "configured twice"},
		{"empty name", nil, func(c *auth.Config) { c.OAuth.Providers = []oauthlogin.Provider{named("")} }, "must be lower case"},
		{"upper case", nil, func(c *auth.Config) { c.OAuth.Providers = []oauthlogin.Provider{named("Acme")} }, "must be lower case"},
		{"slash", nil, func(c *auth.Config) { c.OAuth.Providers = []oauthlogin.Provider{named("a/b")} }, "must be lower case"},
		{"space", nil, func(c *auth.Config) { c.OAuth.Providers = []oauthlogin.Provider{named("a b")} }, "must be lower case"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := auth.Config{
				Store: newMemStore(t), Mailer: &mailer.Recorder{},
				Token:    token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")},
				Password: password.HasherConfig{Params: testParams},
				OAuth:    auth.OAuthConfig{Providers: []oauthlogin.Provider{acme}, RedirectURIs: []string{oauthRedirect}},
			}
			if tt.store != nil {
				cfg.Store = tt.store()
			}
			if tt.mutate != nil {
				tt.mutate(&cfg)
			}
			_, err := auth.New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestOAuthSameAccountTwoCallbacks: two sign-ins of one new provider
// account at once (two tabs) make one account, and both callbacks sign in
// to it: the one that loses the race to create it finds it by (provider,
// subject) instead of calling its email someone else's.
func TestOAuthSameAccountTwoCallbacks(t *testing.T) {
	// The second callback runs whole while the first has looked for the
	// identity (and then finds the email taken), or for the email too
	// (and then cannot create the account).
	for _, after := range []string{"IdentityBySubject", "UserByEmail"} {
		t.Run("interleaved after "+after, func(t *testing.T) {
			o := newOAuthFixture(t, newMemStore)
			first, firstCookie := o.begin(t, "acme")
			second, secondCookie := o.begin(t, "acme")
			var other auth.OAuthResult
			o.st.hook(after, func() { other = o.finish(t, "acme", second, secondCookie) })
			res := o.finish(t, "acme", first, firstCookie)
			require.Empty(t, other.Error)
			require.Empty(t, res.Error, "the late callback signs in to the account made meanwhile")
			a, err := o.svc.ExchangeOAuthCode(context.Background(), res.Code, auth.Client{})
			require.NoError(t, err)
			b, err := o.svc.ExchangeOAuthCode(context.Background(), other.Code, auth.Client{})
			require.NoError(t, err)
			assert.Equal(t, b.User.ID, a.User.ID)
			assert.Equal(t, 1, o.countEvents(auth.EventRegistered))
		})
	}

	t.Run("identity taken, lookup fails", func(t *testing.T) {
		o := newOAuthFixture(t, newMemStore)
		o.st.fail("CreateUserWithIdentity", &store.ConflictError{Field: store.FieldIdentity})
		res := o.signIn(t, "acme")
		assert.Equal(t, auth.OAuthErrServer, res.Error)
		o.noAccount(t, "ada@example.com", "acme", "sub-1")
	})

	for _, sf := range []struct {
		name string
		make storeFactory
	}{{"memory", newMemStore}, {"sqlite", newSQLiteStore}, {"postgres", newPostgresStore}} {
		t.Run("concurrent/"+sf.name, func(t *testing.T) {
			o := newOAuthFixture(t, sf.make)
			const n = 8
			states, cookies := make([]string, n), make([]string, n)
			for i := range n {
				states[i], cookies[i] = o.begin(t, "acme")
			}
			results := make([]auth.OAuthResult, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i], errs[i] = o.svc.FinishOAuth(context.Background(), "acme", cookies[i], states[i], "provider-code", "", auth.Client{})
				}()
			}
			close(start)
			wg.Wait()
			users := map[string]bool{}
			for i := range n {
				require.NoError(t, errs[i])
				require.Empty(t, results[i].Error, "callback %d", i)
				tok, err := o.svc.ExchangeOAuthCode(context.Background(), results[i].Code, auth.Client{})
				require.NoError(t, err)
				users[tok.User.ID] = true
			}
			assert.Len(t, users, 1, "one account")
		})
	}
}

// switchRand is crypto/rand until it is told to fail.
type switchRand struct {
	mu   sync.Mutex
	fail bool
}

func (r *switchRand) set(fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = fail
}

func (r *switchRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	fail := r.fail
	r.mu.Unlock()
	if fail {
		return 0, errors.New("no entropy")
	}
	return cryptorand.Read(p)
}

// TestOAuthRandomnessFails: without randomness no flow begins, and a
// callback ends with error=server_error, like a store failure, having
// made nothing.
func TestOAuthRandomnessFails(t *testing.T) {
	r := &switchRand{}
	withRand := func(c *auth.Config) { c.Rand = r }
	ctx := context.Background()

	t.Run("begin", func(t *testing.T) {
		r.set(false)
		o := newOAuthFixture(t, newMemStore, withRand)
		r.set(true)
		defer r.set(false)
		start, err := o.svc.BeginOAuth(ctx, "acme", oauthRedirect)
		require.Error(t, err)
		assert.Equal(t, auth.OAuthStart{}, start)
	})

	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("callback, account exists %v", existing), func(t *testing.T) {
			r.set(false)
			o := newOAuthFixture(t, newMemStore, withRand)
			if existing {
				o.signedUp(t)
			}
			state, cookie := o.begin(t, "acme")
			r.set(true)
			res := o.finish(t, "acme", state, cookie)
			r.set(false)
			assert.Equal(t, auth.OAuthErrServer, res.Error)
			assert.Empty(t, res.Code)
			assert.Equal(t, "random_failed", o.lastFailure(t))
			if !existing {
				o.noAccount(t, "ada@example.com", "acme", "sub-1")
			}
		})
	}

	t.Run("link", func(t *testing.T) {
		r.set(false)
		o := newOAuthFixture(t, newMemStore, withRand)
		o.verifiedUser(t, "bob")
		id, err := o.svc.Authenticate(ctx, o.login(t, "bob", strongPassword).AccessToken)
		require.NoError(t, err)
		o.acme.set(oauthlogin.Profile{Subject: "sub-bob", Email: "bob@example.com", EmailVerified: true}, nil)
		state, cookie := o.beginLink(t, id)
		r.set(true)
		res := o.finish(t, "acme", state, cookie)
		r.set(false)
		assert.Equal(t, auth.OAuthErrServer, res.Error)
		assert.Empty(t, res.Linked)
		assert.Equal(t, "random_failed", o.lastFailure(t))
		o.noAccount(t, "nobody@example.com", "acme", "sub-bob")
	})
}

// TestOAuthLinkNotice: a linked provider is told to the user by mail
// (DESIGN §11); a link that fails tells nothing.
func TestOAuthLinkNotice(t *testing.T) {
	o := newOAuthFixture(t, newMemStore, func(c *auth.Config) { c.Lifecycle.NoticesOff = nil })
	o.verifiedUser(t, "bob")
	id, err := o.svc.Authenticate(context.Background(), o.login(t, "bob", strongPassword).AccessToken)
	require.NoError(t, err)
	o.acme.set(oauthlogin.Profile{Subject: "sub-bob", Email: "bob@example.com", EmailVerified: true}, nil)
	state, cookie := o.beginLink(t, id)
	res := o.finish(t, "acme", state, cookie)
	require.Equal(t, "acme", res.Linked)
	assert.Equal(t, []mailer.Kind{mailer.NoticeAccountChanged}, o.notices(t, o.svc, "bob@example.com"))
	for _, m := range o.mail.Messages() {
		if m.Kind == mailer.NoticeAccountChanged {
			assert.Contains(t, m.Text, "A sign-in provider was linked")
		}
	}
}
