package webhook

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settleDelay lets a burst of events (an editor's several writes, the steps of a symlink
// swap) settle before the files are read, so a half-written file is not reported as broken.
const settleDelay = 100 * time.Millisecond

// watchFiles calls reload once at start, then whenever files may have changed, until ctx
// is done. It watches the files' directories, not the files: a Secret or ConfigMap volume
// changes by writing a new directory and atomically swapping the `..data` symlink, which
// is an event on the directory only, and an editor often replaces a file rather than
// writing it. Every interval it calls reload anyway, as a backstop for events that never
// come (an inotify limit reached, some network filesystems). reload must be cheap when
// nothing changed.
func watchFiles(ctx context.Context, log *slog.Logger, files []string, interval time.Duration, reload func()) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w := watchDirs(log, files); w != nil {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}
	reload()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var settled <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			settled = time.After(settleDelay)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			log.Warn("watching files failed; they are still checked every interval", "files", files, "interval", interval.String(), "error", err.Error())
		case <-settled:
			settled = nil
			reload()
		case <-ticker.C:
			reload()
		}
	}
}

// watchDirs starts watching the directories of files. It returns nil when watching is not
// possible, leaving the periodic check to do the work.
func watchDirs(log *slog.Logger, files []string) *fsnotify.Watcher {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("cannot watch files; they are checked periodically only", "files", files, "error", err.Error())
		return nil
	}
	var dirs []string
	for _, f := range files {
		if dir := filepath.Dir(f); !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	for _, dir := range dirs {
		if err := w.Add(dir); err != nil {
			log.Warn("cannot watch a directory; its files are checked periodically only", "dir", dir, "error", err.Error())
		}
	}
	return w
}
