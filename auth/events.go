package auth

import (
	"context"
	"log/slog"
	"time"
)

// EventKind names what happened in an audit [Event].
type EventKind string

// The audit event kinds.
const (
	EventRegistered       EventKind = "registered"
	EventLoginSucceeded   EventKind = "login_succeeded"
	EventLoginFailed      EventKind = "login_failed"
	EventEmailVerified    EventKind = "email_verified"
	EventVerificationSent EventKind = "verification_sent"
	EventTokenRefreshed   EventKind = "token_refreshed"
	EventRefreshReuse     EventKind = "refresh_reuse_detected"
	// EventRefreshFailed: a refresh token of a session that had already
	// ended (Reason "session_ended"); unlike EventRefreshReuse, no sign of
	// theft.
	EventRefreshFailed   EventKind = "refresh_failed"
	EventLoggedOut       EventKind = "logged_out"
	EventLoggedOutAll    EventKind = "logged_out_all"
	EventResetRequested  EventKind = "reset_requested"
	EventPasswordChanged EventKind = "password_changed"
	EventPasswordReset   EventKind = "password_reset"
	EventDeviceRevoked   EventKind = "device_revoked"
	EventRateLimited     EventKind = "rate_limited"
	// EventMailDropped: a mail (Reason: its kind) could not be queued
	// because the queue, or the recipient's share of it, was full; its code
	// was not made and did not count against the send limits.
	EventMailDropped EventKind = "mail_dropped"
)

// The outcomes of an [Event].
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Event is one audit record. It never holds a password, token, code or hash.
type Event struct {
	Kind      EventKind
	UserID    string // empty when no account is known
	SessionID string // the refresh-token family, where there is one
	IP        string
	UserAgent string
	Time      time.Time
	Outcome   string // OutcomeSuccess or OutcomeFailure
	Reason    string // for failures: a short stable word ("wrong_password", "unknown_user", ...)
	// ActorID is who acted on the account when it is not its owner: the
	// ID of the superuser of an admin action, or "operator:NAME" for a
	// trusted caller such as a command line (see admin.go).
	ActorID string
}

// emit writes e to the audit log and passes it to the hook.
func (s *Service) emit(ctx context.Context, kind EventKind, outcome string, userID, sessionID string, c Client, reason string) {
	s.record(ctx, Event{
		Kind:      kind,
		UserID:    userID,
		SessionID: sessionID,
		IP:        c.IP,
		UserAgent: c.UserAgent,
		Time:      s.now(),
		Outcome:   outcome,
		Reason:    reason,
	})
}

// record writes e to the audit log and passes it to the hook.
func (s *Service) record(ctx context.Context, e Event) {
	level := slog.LevelInfo
	if e.Outcome == OutcomeFailure || e.Kind == EventRefreshReuse {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("event", string(e.Kind)),
		slog.String("outcome", e.Outcome),
	}
	for _, kv := range [...][2]string{
		{"user_id", e.UserID}, {"session_id", e.SessionID}, {"ip", e.IP},
		{"user_agent", e.UserAgent}, {"reason", e.Reason}, {"actor_id", e.ActorID},
	} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], kv[1]))
		}
	}
	s.log.LogAttrs(ctx, level, "auth event", attrs...)
	if s.onEvent != nil {
		s.onEvent(ctx, e)
	}
}
