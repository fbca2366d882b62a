package operation

import (
	"errors"
	"os"
	"os/user"
	"strings"
)

// ErrNoIdentity: pipectl cannot tell who runs it.
var ErrNoIdentity = errors.New("cannot tell who you are (no OS user name): set PIPECTL_USER")

// Who is who runs pipectl, the one identity every record names: who
// started a run, who holds its environment's lock, who approved or
// rejected a gate, who broke a lock. The rule: PIPECTL_USER when set (a CI
// job gives its identity so), else the OS user's name, else $USER. It is
// what the user says, not an authenticated identity.
func Who() (string, error) {
	if u := strings.TrimSpace(os.Getenv("PIPECTL_USER")); u != "" {
		return u, nil
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username, nil
	}
	if u := os.Getenv("USER"); u != "" {
		return u, nil
	}
	return "", ErrNoIdentity
}
