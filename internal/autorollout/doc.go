// Package autorollout keeps running pods current from inside `tandem serve --rollout`:
// on the replica that holds the audit's Lease, it finds the pods the audit finds
// outdated (or missing sidecars), plans them with the rollout planner, and carries out
// one step at a time at a configured pace — a batch of pods changed in place, or one
// owner restarted — with the same stop-and-restore on failure as `tandem rollout`.
//
// The pods carry their own record (the status annotation), so a replica that takes
// over the Lease resumes where the last one stopped. A failure halts the rollout of that
// configuration: the failed pod is annotated tandem.io/rollout-failed with the
// configuration's digest until the configuration changes or someone removes it.
package autorollout
