package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/forgeauth/forgeauth/store"
)

// The page sizes of [Service.ListUsers].
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// UserPage is one page of [Service.ListUsers].
type UserPage struct {
	Users []store.User // without password hashes
	// NextCursor fetches the next page; empty on the last one.
	NextCursor string
}

// UserDetails is what an admin sees of one user. The counts of the
// features a service does not have (or a store does not keep) are zero.
type UserDetails struct {
	User       store.User // without the password hash
	Sessions   int        // active sessions (refresh-token families)
	MFA        bool       // a confirmed second factor (TOTP) is on
	Passkeys   int        // registered passkeys
	Identities int        // linked provider accounts
}

// adminOf checks that the identity is an active superuser (as loaded by
// [Service.Authenticate]).
func (s *Service) adminOf(id Identity) error {
	if s.life.admin == nil {
		return ErrNotEnabled
	}
	if !id.User.IsSuperuser || !id.User.IsActive || id.User.ID == "" {
		return ErrForbidden
	}
	return nil
}

// cursor signs the ID a page ended with, bound to the query, so that a
// cursor cannot be forged, altered or used with another search.
func (s *Service) cursor(q, after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(after)) + "." +
		base64.RawURLEncoding.EncodeToString(s.cursorMAC(q, after))
}

func (s *Service) cursorMAC(q, after string) []byte {
	m := hmac.New(sha256.New, s.life.cursorKey)
	m.Write([]byte(store.Fold(q)))
	m.Write([]byte{0})
	m.Write([]byte(after))
	return m.Sum(nil)[:16]
}

// maxCursor bounds what parseCursor reads.
const maxCursor = 512

func (s *Service) parseCursor(q, cur string) (string, error) {
	if cur == "" {
		return "", nil
	}
	idPart, macPart, ok := strings.Cut(cur, ".")
	if !ok || len(cur) > maxCursor {
		return "", ErrInvalidCursor
	}
	after, err1 := base64.RawURLEncoding.Strict().DecodeString(idPart)
	mac, err2 := base64.RawURLEncoding.Strict().DecodeString(macPart)
	if err1 != nil || err2 != nil || len(after) == 0 || !hmac.Equal(mac, s.cursorMAC(q, string(after))) {
		return "", ErrInvalidCursor
	}
	return string(after), nil
}

// ListUsers returns a page of users for an admin, in a stable order (by
// ID, keyset pagination: the last page costs what the first does). q,
// when not empty, keeps the users whose username or email starts with it
// (as text: '%' and '_' are no wildcards). limit is capped at
// [MaxPageSize]; zero or less means [DefaultPageSize]. cursor is "" or the
// NextCursor of the previous page of the same q.
//
// It returns [ErrInvalidCursor] for a cursor this service did not hand out
// for q, [ErrForbidden] when admin is not an active superuser,
// [ErrNotEnabled] when administration is off, and an *[UnavailableError]
// when the store cannot be reached.
func (s *Service) ListUsers(ctx context.Context, admin Identity, q string, limit int, cursor string) (UserPage, error) {
	if err := s.adminOf(admin); err != nil {
		return UserPage{}, err
	}
	after, err := s.parseCursor(q, cursor)
	if err != nil {
		return UserPage{}, err
	}
	switch {
	case limit <= 0:
		limit = DefaultPageSize
	case limit > MaxPageSize:
		limit = MaxPageSize
	}
	users, err := s.life.admin.ListUsers(ctx, store.UserQuery{Prefix: normalize(q), After: after, Limit: limit + 1})
	if err != nil {
		return UserPage{}, storeErr("list users", err)
	}
	page := UserPage{Users: make([]store.User, 0, min(len(users), limit))}
	for i, u := range users {
		if i == limit {
			page.NextCursor = s.cursor(q, users[limit-1].ID)
			break
		}
		page.Users = append(page.Users, public(u))
	}
	return page, nil
}

// GetUser returns a user with the counts an admin needs. It returns
// [ErrNotFound] for an unknown user, besides the errors of ListUsers
// about admin.
func (s *Service) GetUser(ctx context.Context, admin Identity, userID string) (UserDetails, error) {
	if err := s.adminOf(admin); err != nil {
		return UserDetails{}, err
	}
	u, err := s.store.UserByID(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return UserDetails{}, ErrNotFound
	case err != nil:
		return UserDetails{}, storeErr("find user", err)
	}
	sessions, err := s.store.Sessions(ctx, u.ID, s.now().UTC())
	if err != nil {
		return UserDetails{}, storeErr("list sessions", err)
	}
	d := UserDetails{User: public(u), Sessions: len(sessions)}
	// What the store keeps of the other features, where it keeps them.
	if f, ok := s.store.(store.SecondFactors); ok {
		sf, err := f.SecondFactor(ctx, u.ID)
		switch {
		case err == nil:
			d.MFA = sf.Confirmed
		case !errors.Is(err, store.ErrNotFound):
			return UserDetails{}, storeErr("read second factor", err)
		}
	}
	if ids, ok := s.store.(store.Identities); ok {
		linked, err := ids.Identities(ctx, u.ID)
		if err != nil {
			return UserDetails{}, storeErr("list identities", err)
		}
		d.Identities = len(linked)
	}
	if pk, ok := s.store.(store.Passkeys); ok {
		keys, err := pk.Passkeys(ctx, u.ID)
		if err != nil {
			return UserDetails{}, storeErr("list passkeys", err)
		}
		d.Passkeys = len(keys)
	}
	return d, nil
}

// UpdateUser sets the flags up names on a user and returns the user.
// Disabling ends every session of the user and makes their access tokens
// fail at once. It returns [ErrNotFound] for an unknown user,
// [ErrLastSuperuser] when the change would leave no active superuser (an
// admin demoting or disabling themself last), besides the errors of
// ListUsers about admin.
func (s *Service) UpdateUser(ctx context.Context, admin Identity, userID string, up store.UserUpdate, c Client) (store.User, error) {
	if err := s.adminOf(admin); err != nil {
		return store.User{}, err
	}
	return s.updateUser(ctx, admin.User.ID, userID, up, c)
}

func (s *Service) updateUser(ctx context.Context, actor, userID string, up store.UserUpdate, c Client) (store.User, error) {
	u, err := s.life.admin.UpdateUser(ctx, userID, up, s.revocationMoment())
	if err := s.adminResult(ctx, EventAdminUserUpdated, actor, userID, c, err); err != nil {
		return store.User{}, err
	}
	return public(u), nil
}

// adminResult maps the store's answer to an admin action and records the
// event with its actor.
func (s *Service) adminResult(ctx context.Context, kind EventKind, actor, userID string, c Client, err error) error {
	e := Event{Kind: kind, UserID: userID, ActorID: actor, IP: c.IP, UserAgent: c.UserAgent, Time: s.now(), Outcome: OutcomeSuccess}
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = ErrNotFound
		e.Outcome, e.Reason = OutcomeFailure, "not_found"
	case errors.Is(err, store.ErrLastSuperuser):
		err = ErrLastSuperuser
		e.Outcome, e.Reason = OutcomeFailure, "last_superuser"
	case err != nil:
		return storeErr(string(kind), err)
	}
	s.record(ctx, e)
	return err
}

// LogoutUser ends every session of a user and makes their access tokens
// fail, for an admin. Errors as for UpdateUser.
func (s *Service) LogoutUser(ctx context.Context, admin Identity, userID string, c Client) error {
	if err := s.adminOf(admin); err != nil {
		return err
	}
	err := s.store.RevokeAllSessions(ctx, userID, s.revocationMoment())
	return s.adminResult(ctx, EventAdminLoggedOutAll, admin.User.ID, userID, c, err)
}

// DeleteUser deletes a user with every record of theirs, for an admin.
// Errors as for UpdateUser.
func (s *Service) DeleteUser(ctx context.Context, admin Identity, userID string, c Client) error {
	if err := s.adminOf(admin); err != nil {
		return err
	}
	err := s.life.admin.RemoveUser(ctx, userID)
	return s.adminResult(ctx, EventAdminUserDeleted, admin.User.ID, userID, c, err)
}

// OperateUser applies up to the user with the email, on behalf of a
// trusted operator rather than a signed-in admin (a command line on the
// server's own configuration); the audit event names the actor
// "operator:" + operator. It returns [ErrNotFound] for an unknown email,
// [ErrLastSuperuser] as UpdateUser does, [ErrNotEnabled] when
// administration is off, and an *[UnavailableError] when the store cannot
// be reached.
func (s *Service) OperateUser(ctx context.Context, operator, email string, up store.UserUpdate) (store.User, error) {
	if s.life.admin == nil {
		return store.User{}, ErrNotEnabled
	}
	u, ok, err := s.findByEmail(ctx, email)
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		return store.User{}, ErrNotFound
	}
	return s.updateUser(ctx, "operator:"+operator, u.ID, up, Client{})
}
