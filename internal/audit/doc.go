// Package audit finds the running pods that asked for sidecars but lack them, or carry a
// definition that has changed since they were created, and says what to restart.
//
// Admission only sees pods as they are created: a pod admitted while Tandem was down
// (with failurePolicy Ignore), or created before a sidecar's definition changed, keeps
// what it got until something recreates it. Every question here is answered from pod
// metadata alone (inject.AuditPod reads labels and annotations, and the namespace's
// labels), so neither `tandem audit` nor `tandem serve --audit-interval` reads a pod's
// spec or status: that keeps a watch of every pod in a cluster a few megabytes
// (docs/performance.md).
//
// Scan is `tandem audit`: it lists pods once, climbs the controller references of those
// with findings (Pod → ReplicaSet → Deployment, Pod → Job → CronJob) and groups them by
// what to roll (Group, WriteText, WriteJSON). Monitor is `tandem serve --audit-interval`:
// on the replica that holds a Lease, it keeps a metadata-only pod informer and exports
// per namespace and sidecar how many pods lack a sidecar or carry an outdated one.
package audit
