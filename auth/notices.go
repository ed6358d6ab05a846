package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store"
)

// NoticeKind names a notice: a mail that tells a user about a change to
// their account. Notices carry no code and no link, go through the
// asynchronous mailer (a failure is logged, never returned), and each
// kind can be turned off (Config.Lifecycle.NoticesOff, AUTH_NOTICES_OFF).
//
// A sign-in is from a new device when the client presents no valid device
// token of the account (Client.DeviceToken, handed out at each login) and
// none of the user's active sessions other than the new one has the same
// user agent and device name. The first login of an account is never
// reported.
type NoticeKind string

// The notices.
const (
	NoticeNewDevice       NoticeKind = "new_device"
	NoticePasswordChanged NoticeKind = "password_changed" // changed or reset
	NoticeEmailChanged    NoticeKind = "email_changed"    // to the old address
	NoticeSignupAttempt   NoticeKind = "signup_attempt"   // uniform registration of a taken address
	// The notices of the second factor, passkey and provider features.
	NoticeMFAEnabled     NoticeKind = "mfa_enabled"
	NoticeMFADisabled    NoticeKind = "mfa_disabled"
	NoticeRecoveryCodes  NoticeKind = "recovery_codes" // new recovery codes; the old ones died
	NoticePasskeyAdded   NoticeKind = "passkey_added"
	NoticePasskeyRemoved NoticeKind = "passkey_removed"
	NoticeIdentityLinked NoticeKind = "identity_linked"
)

// noticeMail maps each notice to its mail, and the account-changed ones
// to their sentence.
var noticeMail = map[NoticeKind]struct {
	kind   mailer.Kind
	change string
}{
	NoticeNewDevice:       {mailer.NoticeNewDevice, ""},
	NoticePasswordChanged: {mailer.NoticePasswordChanged, ""},
	NoticeEmailChanged:    {mailer.NoticeEmailChanged, ""},
	NoticeSignupAttempt:   {mailer.NoticeSignupAttempt, ""},
	NoticeMFAEnabled:      {mailer.NoticeAccountChanged, "Two-step verification was turned on for your account."},
	NoticeMFADisabled:     {mailer.NoticeAccountChanged, "Two-step verification was turned off for your account."},
	NoticeRecoveryCodes:   {mailer.NoticeAccountChanged, "New recovery codes were made for your account; the old ones no longer work."},
	NoticePasskeyAdded:    {mailer.NoticeAccountChanged, "A passkey was added to your account."},
	NoticePasskeyRemoved:  {mailer.NoticeAccountChanged, "A passkey was removed from your account."},
	NoticeIdentityLinked:  {mailer.NoticeAccountChanged, "A sign-in provider was linked to your account."},
}

func (k NoticeKind) valid() bool {
	_, ok := noticeMail[k]
	return ok
}

// NoticeKinds returns every notice kind.
func NoticeKinds() []NoticeKind {
	return []NoticeKind{NoticeNewDevice, NoticePasswordChanged, NoticeEmailChanged, NoticeSignupAttempt,
		NoticeMFAEnabled, NoticeMFADisabled, NoticeRecoveryCodes, NoticePasskeyAdded, NoticePasskeyRemoved, NoticeIdentityLinked}
}

// errUnknownNotice is wrapped by ParseNoticeKinds for an unknown kind.
var errUnknownNotice = errors.New("unknown notice")

// ParseNoticeKinds reads a comma-separated list of notice kinds, white
// space ignored; "all" names every kind. It returns an error naming the
// first unknown kind.
func ParseNoticeKinds(list string) ([]NoticeKind, error) {
	var out []NoticeKind
	for _, f := range strings.Split(list, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch {
		case f == "":
		case f == "all":
			out = append(out, NoticeKinds()...)
		case NoticeKind(f).valid():
			out = append(out, NoticeKind(f))
		default:
			return nil, fmt.Errorf("%w %q", errUnknownNotice, f)
		}
	}
	return out, nil
}

// noticeTime is how a notice dates what it reports.
const noticeTime = "2006-01-02 15:04 UTC"

// notify mails the notice of kind to u's address, unless that kind is
// turned off or the service has no mailer. n's Time is set here; its
// other fields come from the flow, never from a request's Host. The mail
// is queued, not sent, before notify returns; a failure is logged. Other
// features call it for their notices (second factor, passkeys, providers).
func (s *Service) notify(ctx context.Context, u store.User, kind NoticeKind, n mailer.Notice) {
	m, ok := noticeMail[kind]
	if !ok || s.mail == nil || s.life.noticesOff[kind] || u.Email == "" {
		return
	}
	n.Time = s.now().UTC().Format(noticeTime)
	if m.change != "" {
		n.Change = m.change
	}
	msg, err := s.templates.Render(m.kind, u.Email, mailer.Data{AppName: s.appName, Username: u.Username, Notice: n})
	if err != nil {
		s.log.WarnContext(ctx, "auth: rendering a notice failed", "user_id", u.ID, "notice", string(kind), "error", err)
		return
	}
	if err := s.mail.Send(ctx, msg); err != nil {
		s.log.WarnContext(ctx, "auth: queueing a notice failed", "user_id", u.ID, "notice", string(kind), "error", err)
	}
}

// noticeByID is notify for a flow that holds only the user's id: the
// user is read first, and a failure to read them leaves the notice out
// (logged), never the flow.
func (s *Service) noticeByID(ctx context.Context, userID string, kind NoticeKind) {
	if s.mail == nil || s.life.noticesOff[kind] {
		return
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		s.log.WarnContext(ctx, "auth: reading the user for a notice failed", "user_id", userID, "notice", string(kind), "error", err)
		return
	}
	s.notify(ctx, u, kind, mailer.Notice{})
}

// noticeLogin sends the new-device notice for a successful login when the
// client is not known (see [NoticeKind]). The check of the sessions runs
// after the answer, so the login is not slowed.
func (s *Service) noticeLogin(ctx context.Context, u store.User, knownDevice bool, sessionID string, c Client) {
	if knownDevice || u.LastLoginAt.IsZero() || s.mail == nil || s.life.noticesOff[NoticeNewDevice] {
		return
	}
	c = c.stored()
	s.inBackground(ctx, func(ctx context.Context) {
		sessions, err := s.store.Sessions(ctx, u.ID, s.now().UTC())
		if err != nil {
			s.log.WarnContext(ctx, "auth: reading sessions for a new-device notice failed", "user_id", u.ID, "error", err)
			return
		}
		for _, ss := range sessions {
			if ss.ID != sessionID && ss.UserAgent == c.UserAgent && ss.DeviceName == c.DeviceName {
				return
			}
		}
		device := c.DeviceName
		if device == "" {
			device = c.UserAgent
		}
		if device == "" {
			device = "an unnamed device"
		}
		s.notify(ctx, u, NoticeNewDevice, mailer.Notice{Device: device, IP: c.IP})
	})
}
