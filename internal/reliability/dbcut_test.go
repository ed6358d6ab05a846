package reliability_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cutCase is one flow whose every step the database connection is cut
// after, in turn.
type cutCase struct {
	name string
	// prepare makes the user (and whatever the flow needs) and returns
	// the request to send.
	prepare func(t *testing.T, s *service, name string) cutRequest
	// check decides from the states before and after whether the flow was
	// carried out, failing the test if it was carried out in part.
	check func(t *testing.T, name string, before, after userState) bool
	// retry is what the client does next: it must be consistent with
	// whether the flow was carried out. It returns a note for the report.
	retry func(t *testing.T, s *service, name string, req cutRequest, done bool) string
}

// cutRequest is the request of a flow under test.
type cutRequest struct {
	path, bearer string
	body         map[string]string
	success      int
	session      tokens // the session the request belongs to
}

// TestDatabaseCutMidFlow cuts the PostgreSQL connection right after the
// first, second, third... message the service sends during one request, for
// each flow that changes several rows (password reset, password change,
// logout-all) and for a refresh, until the request completes before the
// cut. After every cut the rows show the flow fully carried out or not at
// all, the answer is the flow's success only if it was carried out, never
// a 500, and what the client does next behaves accordingly.
func TestDatabaseCutMidFlow(t *testing.T) {
	schema := newPGSchema(t)
	p := newProxy(t, pgHost(t, schema.base))
	appName := "forgeauth_rel_" + randomHex(t, 4)
	st, db := newPGStore(t, schema, appName, p.Addr(), 4)
	s := newService(t, serviceOpts{store: st})

	cases := []cutCase{
		{
			name: "reset-password",
			prepare: func(t *testing.T, s *service, name string) cutRequest {
				s.verifiedUser(t, name)
				sess := s.login(t, name, strongPW)
				s.c.post(t, "/auth/forgot-password", "", map[string]string{"email": name + "@example.com"}).expect(t, http.StatusAccepted, "")
				code := mailCode(t, s.mail, name+"@example.com")
				return cutRequest{path: "/auth/reset-password", success: http.StatusNoContent, session: sess,
					body: map[string]string{"email": name + "@example.com", "code": code, "new_password": newPW}}
			},
			check: func(t *testing.T, name string, before, after userState) bool {
				changed := passwordChanged(t, name, before, after, 0)
				if !changed {
					assert.Equal(t, before.unusedResetCodes, after.unusedResetCodes,
						"%s: half-done reset: the reset code was spent but the password was not changed", name)
				}
				return changed
			},
			retry: func(t *testing.T, s *service, name string, req cutRequest, done bool) string {
				if done {
					s.c.post(t, "/auth/refresh", "", map[string]string{"refresh_token": req.session.RefreshToken}).
						expect(t, http.StatusUnauthorized, "invalid_refresh_token")
					s.login(t, name, newPW)
					return ""
				}
				// The same code again: it works unless the cut came after
				// it was spent.
				a := s.c.post(t, req.path, "", req.body)
				if a.status == http.StatusBadRequest {
					a.expect(t, http.StatusBadRequest, "invalid_code")
					s.login(t, name, strongPW)
					return "code spent, password unchanged"
				}
				a.expect(t, http.StatusNoContent, "")
				s.login(t, name, newPW)
				return "retry with the same code succeeded"
			},
		},
		{
			name: "verify-email",
			prepare: func(t *testing.T, s *service, name string) cutRequest {
				email := name + "@example.com"
				s.c.post(t, "/auth/register", "", map[string]string{"username": name, "email": email, "password": strongPW}).
					expect(t, http.StatusCreated, "")
				return cutRequest{path: "/auth/verify-email", success: http.StatusOK,
					body: map[string]string{"email": email, "code": mailCode(t, s.mail, email)}}
			},
			check: func(t *testing.T, name string, before, after userState) bool {
				if after.verified {
					assert.Zero(t, after.unusedVerifyCodes, "%s: verified, but the code is still usable", name)
				} else {
					assert.Equal(t, before.unusedVerifyCodes, after.unusedVerifyCodes,
						"%s: half-done verification: the code was spent but the email is not verified", name)
				}
				return after.verified
			},
			retry: func(t *testing.T, s *service, name string, req cutRequest, done bool) string {
				if done {
					s.login(t, name, strongPW)
					return ""
				}
				a := s.c.post(t, req.path, "", req.body)
				if a.status == http.StatusBadRequest {
					a.expect(t, http.StatusBadRequest, "invalid_code")
					s.c.post(t, "/auth/login", "", map[string]string{"username": name, "password": strongPW}).
						expect(t, http.StatusForbidden, "email_not_verified")
					return "code spent, email not verified"
				}
				a.expect(t, http.StatusOK, "")
				s.login(t, name, strongPW)
				return "retry with the same code succeeded"
			},
		},
		{
			name: "change-password",
			prepare: func(t *testing.T, s *service, name string) cutRequest {
				s.verifiedUser(t, name)
				sess := s.login(t, name, strongPW)
				s.login(t, name, strongPW) // another device, which the change ends
				return cutRequest{path: "/auth/change-password", bearer: sess.AccessToken, success: http.StatusNoContent, session: sess,
					body: map[string]string{"current_password": strongPW, "new_password": newPW}}
			},
			check: func(t *testing.T, name string, before, after userState) bool {
				return passwordChanged(t, name, before, after, 1)
			},
			retry: func(t *testing.T, s *service, name string, req cutRequest, done bool) string {
				// The caller's own session survives the change either way.
				var next tokens
				s.c.post(t, "/auth/refresh", "", map[string]string{"refresh_token": req.session.RefreshToken}).
					expect(t, http.StatusOK, "").decode(t, &next)
				if done {
					s.c.get(t, privatePath, req.session.AccessToken).expect(t, http.StatusUnauthorized, "invalid_token")
					s.login(t, name, newPW)
					return ""
				}
				s.c.get(t, privatePath, req.session.AccessToken).expect(t, http.StatusOK, "")
				s.c.post(t, req.path, next.AccessToken, req.body).expect(t, http.StatusNoContent, "")
				s.login(t, name, newPW)
				return "retry succeeded"
			},
		},
		{
			name: "logout-all",
			prepare: func(t *testing.T, s *service, name string) cutRequest {
				s.verifiedUser(t, name)
				sess := s.login(t, name, strongPW)
				s.login(t, name, strongPW)
				return cutRequest{path: "/auth/logout-all", bearer: sess.AccessToken, success: http.StatusNoContent, session: sess}
			},
			check: func(t *testing.T, name string, before, after userState) bool {
				done := revoked(before, after)
				assert.Equal(t, before.hash, after.hash, "%s: logout-all changed the password", name)
				if done {
					assert.Zero(t, after.activeTokens, "%s: logout-all moved the revocation moment but left sessions", name)
				} else {
					assert.Equal(t, before.activeTokens, after.activeTokens, "%s: sessions revoked without the revocation moment", name)
				}
				return done
			},
			retry: func(t *testing.T, s *service, name string, req cutRequest, done bool) string {
				if done {
					s.c.get(t, privatePath, req.session.AccessToken).expect(t, http.StatusUnauthorized, "invalid_token")
					s.c.post(t, "/auth/refresh", "", map[string]string{"refresh_token": req.session.RefreshToken}).
						expect(t, http.StatusUnauthorized, "invalid_refresh_token")
					return ""
				}
				s.c.post(t, req.path, req.bearer, nil).expect(t, http.StatusNoContent, "")
				return "retry succeeded"
			},
		},
		{
			name: "refresh",
			prepare: func(t *testing.T, s *service, name string) cutRequest {
				s.verifiedUser(t, name)
				sess := s.login(t, name, strongPW)
				return cutRequest{path: "/auth/refresh", success: http.StatusOK, session: sess,
					body: map[string]string{"refresh_token": sess.RefreshToken}}
			},
			check: func(t *testing.T, name string, before, after userState) bool {
				done := after.tokens == before.tokens+1
				if done {
					assert.Equal(t, 1, after.activeTokens, "%s: a rotation that inserted the new token left %d active", name, after.activeTokens)
				} else {
					assert.Equal(t, before, after, "%s: a rotation that did not happen changed something", name)
				}
				return done
			},
			retry: func(t *testing.T, s *service, name string, req cutRequest, done bool) string {
				// The client, not knowing, presents the token again.
				a := s.c.post(t, req.path, "", req.body)
				if done {
					a.expect(t, http.StatusUnauthorized, "invalid_refresh_token")
					return "presenting the token again was taken as reuse"
				}
				a.expect(t, http.StatusOK, "")
				return "retry succeeded"
			},
		},
	}

	const maxSteps = 40
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tl tally
			for k := 1; ; k++ {
				require.LessOrEqual(t, k, maxSteps, "the request never completed before the cut")
				name := fmt.Sprintf("%s%d", tc.name[:5], k)
				req := tc.prepare(t, s, name)
				before := readUserState(t, schema, name)

				p.CutAfterWrites(k)
				var body any
				if req.body != nil {
					body = req.body
				}
				a := s.c.post(t, req.path, req.bearer, body)
				cut := p.Disarm()
				if cut {
					schema.awaitNoBackends(t, appName)
				}
				p.Restore()
				flushPool(db)

				if msg := checkAnswer(a); msg != "" {
					t.Errorf("%s, cut after message %d: %s", tc.name, k, msg)
				}
				after := readUserState(t, schema, name)
				done := tc.check(t, name, before, after)
				switch {
				case a.status == req.success:
					assert.True(t, done, "%s, cut after message %d: answered %d but not carried out", tc.name, k, a.status)
				case a.status == http.StatusServiceUnavailable:
					require.True(t, cut, "%s: 503 without a cut: %s", tc.name, a.body)
				default:
					t.Errorf("%s, cut after message %d: unexpected %d %s", tc.name, k, a.status, a.body)
				}
				note := tc.retry(t, s, name, req, done)
				if cut {
					tl.add(fmt.Sprintf("[%d, carried out: %v, then: %s]", a.status, done, note))
				} else {
					t.Logf("%s: the request completed within %d messages; the cuts after messages 1..%d gave %s", tc.name, k-1, k-1, tl.String())
					break
				}
			}
		})
	}
	checkInvariants(t, schema)
}

// flushPool closes the idle connections of db, which a cut has broken, so
// that the next request of the test does not meet one. (Recovering from
// broken connections on its own is TestDatabaseOutage's subject.)
func flushPool(db *sql.DB) {
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(4)
}
