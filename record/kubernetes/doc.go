// Package kubernetes keeps run records and environment locks in a
// Kubernetes namespace, so that every runner of a team sees one history
// and one lock: a coordination.k8s.io Lease per pipeline and environment,
// and Secrets for runs (see docs/backends.md).
package kubernetes
