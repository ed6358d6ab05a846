package mailer

// The kinds of the code mailed to the new address of an email change, and
// of the notices: mails that tell a user about a change to their account
// and carry no code and no link.
const (
	EmailChange Kind = "email_change"

	NoticeNewDevice       Kind = "notice_new_device"       // a sign-in from a device not seen before
	NoticePasswordChanged Kind = "notice_password_changed" // the password was changed or reset
	NoticeEmailChanged    Kind = "notice_email_changed"    // to the old address, after an email change
	NoticeSignupAttempt   Kind = "notice_signup_attempt"   // someone tried to sign up with the address
	NoticeAccountChanged  Kind = "notice_account_changed"  // another change, described by Notice.Change
)

// Notice is what a notice_* template sees besides [Data]'s other fields.
// Its text comes from the service, never from a request's Host.
type Notice struct {
	Time     string // when it happened, e.g. "2026-01-02 03:04 UTC"
	Device   string // the device of a sign-in, e.g. "Firefox on Linux"
	IP       string // the client address of a sign-in
	NewEmail string // the new address of an email change, masked
	Change   string // one sentence for NoticeAccountChanged
}
