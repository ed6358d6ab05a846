package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// The exit codes of the user command.
const (
	exitOK        = 0
	exitFailed    = 1 // the database or the store failed
	exitUsage     = 2 // unknown action, missing or extra arguments, bad configuration
	exitNoUser    = 3 // no user has the email
	exitLastSuper = 4 // the change would leave no active superuser
)

const userUsage = `usage: server user ACTION EMAIL

Manage a user of the database that DATABASE_URL names (the server's own
configuration), also while a server runs on it. ACTION is one of:

  promote   make the user a superuser
  demote    take superuser rights away
  disable   disable the account and end every session of it at once
  enable    enable the account again (no old session comes back)

Exit codes: 0 done, 1 the database failed, 2 usage or configuration,
3 no user has the email, 4 the last active superuser cannot be demoted
or disabled.
`

// userActions maps each action to the change it makes.
var userActions = map[string]store.UserUpdate{
	"promote": {IsSuperuser: boolPtr(true)},
	"demote":  {IsSuperuser: boolPtr(false)},
	"disable": {IsActive: boolPtr(false)},
	"enable":  {IsActive: boolPtr(true)},
}

func boolPtr(b bool) *bool { return &b }

// userCommand runs "user ACTION EMAIL" and returns the exit code. The
// change is an audit event (logged to errOut) whose actor is
// "operator:cli".
func userCommand(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(out, userUsage)
		return exitOK
	}
	if len(args) != 2 {
		fmt.Fprint(errOut, userUsage)
		return exitUsage
	}
	up, ok := userActions[args[0]]
	if !ok {
		fmt.Fprintf(errOut, "unknown action %q\n\n%s", args[0], userUsage)
		return exitUsage
	}
	email := args[1]
	set, err := readSettings(getenv)
	if err != nil {
		fmt.Fprintln(errOut, "user:", err)
		return exitUsage
	}
	if set.DB.Kind == dbMemory {
		fmt.Fprintln(errOut, "user: DATABASE_URL=memory holds no users outside a running server")
		return exitUsage
	}
	st, closeDB, err := openStore(ctx, set.DB)
	if err != nil {
		fmt.Fprintln(errOut, "user:", err)
		return exitFailed
	}
	defer closeDB()
	// The command issues no token: a random secret serves.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		fmt.Fprintln(errOut, "user:", err)
		return exitFailed
	}
	svc, err := auth.New(auth.Config{
		Mode:      auth.ModeBasic,
		Store:     st,
		Lifecycle: auth.LifecycleConfig{Admin: true},
		Logger:    slog.New(slog.NewTextHandler(errOut, nil)),
		Token:     token.Config{Secret: secret},
	})
	if err != nil {
		fmt.Fprintln(errOut, "user:", err)
		return exitFailed
	}
	u, err := svc.OperateUser(ctx, "cli", email, up)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		fmt.Fprintf(errOut, "user: no user has the email %q\n", email)
		return exitNoUser
	case errors.Is(err, auth.ErrLastSuperuser):
		fmt.Fprintf(errOut, "user: %s is the last active superuser; promote another user first\n", email)
		return exitLastSuper
	case err != nil:
		fmt.Fprintln(errOut, "user:", err)
		return exitFailed
	}
	fmt.Fprintf(out, "%s: %s (%s) is_active=%t is_superuser=%t\n", args[0], u.Username, u.Email, u.IsActive, u.IsSuperuser)
	return exitOK
}
