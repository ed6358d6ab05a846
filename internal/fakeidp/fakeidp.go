// Package fakeidp is an OpenID Connect provider and a GitHub API in the same
// process, on httptest servers, for the tests of provider sign-in. The
// provider signs real RS256 ID tokens, serves discovery and its JWKS, approves
// every authorization at once, and checks PKCE (S256) at its token endpoint.
package fakeidp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Account is who signs in at the provider.
type Account struct {
	Subject       string
	Email         string
	EmailVerified bool
	// GitHubID and GitHubEmails are what the GitHub API answers.
	GitHubID     int64
	GitHubEmails []GitHubEmail
}

// GitHubEmail is one entry of GitHub's /user/emails.
type GitHubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// Server is the provider. Its fields may be changed between requests,
// under the lock its methods take.
type Server struct {
	*httptest.Server
	ClientID, ClientSecret string

	mu      sync.Mutex
	key     *rsa.PrivateKey
	account Account
	codes   map[string]grant
	// Claims, when set, changes the claims of the next ID tokens.
	claims func(jwt.MapClaims)
	// block, when set, holds every request until it is closed.
	block         chan struct{}
	down          bool
	now           func() time.Time
	tokenRequests int
}

type grant struct {
	challenge, method, nonce, redirect string
}

// New starts a provider on 127.0.0.1, closed with the test.
func New(tb testing.TB, now func() time.Time) *Server {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{
		ClientID: "forgeauth-client", ClientSecret: "client-secret",
		key: key, codes: map[string]grant{}, now: now,
		account: Account{Subject: "sub-1", Email: "ada@example.com", EmailVerified: true,
			GitHubID: 4242, GitHubEmails: []GitHubEmail{{Email: "ada@example.com", Primary: true, Verified: true}}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /jwks", s.jwks)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /login/oauth/authorize", s.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", s.token)
	mux.HandleFunc("GET /user", s.githubUser)
	mux.HandleFunc("GET /user/emails", s.githubEmails)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		block, down := s.block, s.down
		s.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		s.SetBlocked(false)
		s.Close()
	})
	return s
}

// Issuer is the provider's issuer URL.
func (s *Server) Issuer() string { return s.URL }

// SetAccount sets who signs in next.
func (s *Server) SetAccount(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account = a
}

// SetClaims changes the claims of the next ID tokens (nil: none).
func (s *Server) SetClaims(fn func(jwt.MapClaims)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims = fn
}

// SetDown makes every request answer 503.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetBlocked makes every request hang until the client gives up (or until
// SetBlocked(false)).
func (s *Server) SetBlocked(blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case blocked && s.block == nil:
		s.block = make(chan struct{})
	case !blocked && s.block != nil:
		close(s.block)
		s.block = nil
	}
}

// TokenRequests returns how many token requests the provider has served.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer":                                s.URL,
		"authorization_endpoint":                s.URL + "/authorize",
		"token_endpoint":                        s.URL + "/token",
		"jwks_uri":                              s.URL + "/jwks",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

// authorize approves at once: it redirects to redirect_uri with a code and
// the state, remembering the challenge and the nonce.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.ClientID || q.Get("response_type") != "code" {
		http.Error(w, "bad client", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	s.mu.Lock()
	s.codes[code] = grant{challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"),
		nonce: q.Get("nonce"), redirect: q.Get("redirect_uri")}
	s.mu.Unlock()
	to, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect", http.StatusBadRequest)
		return
	}
	v := to.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	to.RawQuery = v.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// token redeems a code once, checking the client, the redirect URI and the
// PKCE verifier, and answers an access token and a signed ID token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenRequests++
	g, found := s.codes[r.PostForm.Get("code")]
	delete(s.codes, r.PostForm.Get("code"))
	verifier := r.PostForm.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	switch {
	case id != s.ClientID || secret != s.ClientSecret:
		tokenError(w, "invalid_client")
		return
	case !found || g.redirect != r.PostForm.Get("redirect_uri"):
		tokenError(w, "invalid_grant")
		return
	case g.method != "S256" || verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		tokenError(w, "invalid_grant")
		return
	}
	now := s.now()
	claims := jwt.MapClaims{
		"iss": s.URL, "aud": s.ClientID, "sub": s.account.Subject,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": s.account.Email, "email_verified": s.account.EmailVerified,
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if s.account.Email == "" {
		delete(claims, "email")
	}
	if s.claims != nil {
		s.claims(claims)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	idToken, err := tok.SignedString(s.key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"access_token": "at-" + rand.Text(), "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
}

func (s *Server) githubUser(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer at-") {
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, map[string]any{"id": s.account.GitHubID, "login": "ada"})
}

func (s *Server) githubEmails(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer at-") {
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	emails := s.account.GitHubEmails
	if emails == nil {
		emails = []GitHubEmail{}
	}
	writeJSON(w, emails)
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `{"error":%q}`, code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
