package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store"
)

// mfaDisable is the subcommand "mfa-disable EMAIL": it removes the second
// factor of the user with that email, on the database of DATABASE_URL,
// without asking for a code. It is the operator's way out for a user who
// lost their authenticator and every recovery code, and, after the MFA key
// (AUTH_MFA_KEY, or JWT_SECRET_KEY it was derived from) was lost or
// changed, for each user whose secret no longer decrypts. The user signs
// in with the password alone afterwards and may enrol again.
func mfaDisable(ctx context.Context, getenv func(string) string, args []string, out io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: server mfa-disable EMAIL")
	}
	set, err := readSettings(getenv)
	if err != nil {
		return err
	}
	st, closeDB, err := openStore(ctx, set.DB)
	if err != nil {
		return err
	}
	defer closeDB()
	u, err := st.UserByEmail(ctx, args[0])
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user with the email %q", args[0])
	}
	if err != nil {
		return err
	}
	sf, ok := st.(store.SecondFactors)
	if !ok {
		return errors.New("the store keeps no second factors")
	}
	switch err := sf.DeleteSecondFactor(ctx, u.ID); {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s has no second factor: %w", args[0], auth.ErrMFANotEnabled)
	case err != nil:
		return err
	}
	fmt.Fprintf(out, "the second factor of %s (user %s) is removed\n", args[0], u.ID)
	return nil
}
