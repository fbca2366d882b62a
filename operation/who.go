package operation

import (
	"errors"
	"os"
	"os/user"
	"strings"

	"github.com/pipectl/pipectl/record"
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

// ciActors are the variables in which CI systems name who triggered a
// job, in the order they are read.
var ciActors = []string{"GITHUB_ACTOR", "GITLAB_USER_LOGIN", "CIRCLE_USERNAME", "BUILDKITE_BUILD_CREATOR", "BUILD_REQUESTEDFOR", "BITBUCKET_STEP_TRIGGERER_UUID", "BUILD_USER_ID"}

// CIActor is who the CI system says triggered the job that runs pipectl
// ("" outside CI). Nothing verifies it: a run records it as unverified,
// and four eyes refuses that person's approval as the starter's.
func CIActor() string {
	for _, v := range ciActors {
		if a := strings.TrimSpace(os.Getenv(v)); a != "" {
			return a
		}
	}
	return ""
}

// identity is who runs pipectl against store: on a backend that
// authenticates its caller (the kubernetes backend: the cluster's
// SelfSubjectReview) that identity, whatever PIPECTL_USER says
// (authenticated is true); elsewhere Who(), with no groups.
func identity(store *record.Store) (id record.Identity, authenticated bool, err error) {
	if a, ok := store.Backend.(record.Authenticator); ok {
		id, err = a.Identity()
		return id, true, err
	}
	id.User, err = Who()
	return id, false, err
}

// identify makes the run's starter the backend's authenticated identity
// where it has one, and notes the CI job's actor.
func (g *Gates) identify(store *record.Store) error {
	id, authenticated, err := identity(store)
	if err != nil {
		return err
	}
	if authenticated {
		g.User, g.Groups = id.User, id.Groups
	}
	g.Actor = CIActor()
	return nil
}
