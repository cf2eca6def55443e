package webhook

import (
	"crypto/sha256"
	"encoding/binary"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/tandem-io/tandem/internal/config"
)

// configReloader keeps the configuration file loaded. Each version that loads replaces the
// previous one atomically: a request keeps the Config it started with to its end, and the
// next request gets the new one. A version that fails to load is logged and counted, and
// the last good configuration keeps serving.
type configReloader struct {
	path     string
	onConfig func(*config.Config)
	current  *atomic.Pointer[config.Config]
	metrics  *metrics
	log      *slog.Logger
	// last identifies what the previous attempt saw, so that the periodic check and
	// unrelated events in the directory neither reload nor report the same file twice.
	last fingerprint
}

// reload loads the file if it changed since the last attempt. It is called from one
// goroutine at a time.
func (r *configReloader) reload() {
	data, err := os.ReadFile(r.path)
	fp := fingerprintOf(err, data)
	if fp == r.last {
		return
	}
	r.last = fp
	var cfg *config.Config
	if err == nil {
		cfg, err = config.Parse(data, r.path)
	}
	if err != nil {
		r.metrics.observeConfigReload(nil)
		msg := "configuration rejected; the last good configuration keeps serving"
		if r.current.Load() == nil {
			msg = "configuration rejected; not ready until a valid one is loaded"
		}
		r.log.Error(msg, "file", r.path, "error", err.Error())
		return
	}
	r.current.Store(cfg)
	r.metrics.observeConfigReload(cfg)
	if r.onConfig != nil {
		r.onConfig(cfg)
	}
	r.log.Info("configuration loaded", "file", r.path, "sha256", cfg.SHA256, "sidecars", cfg.Names())
}

// fingerprint identifies the outcome of reading some files: their content, or the error.
type fingerprint [sha256.Size]byte

func fingerprintOf(err error, data ...[]byte) fingerprint {
	h := sha256.New()
	if err != nil {
		h.Write([]byte("error: " + err.Error()))
	}
	for _, d := range data {
		h.Write(binary.AppendUvarint(nil, uint64(len(d)))) // so that ("ab", "c") and ("a", "bc") differ
		h.Write(d)
	}
	return fingerprint(h.Sum(nil))
}
