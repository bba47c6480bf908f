package ops

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tlogkit/tlogkit/storage"
)

// Healthz answers 200 "ok" to every request: the process is up and
// serving HTTP.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	})
}

// DefaultMaxStall is the Readyz bound on how long appends may wait with
// no checkpoint published.
const DefaultMaxStall = 10 * time.Second

// Readyz answers 200 while l is ready to serve and append: open, not
// fail-stopped, and not stalled (appends queued or being committed while
// no checkpoint has been published for longer than maxStall; zero means
// DefaultMaxStall). A read-only log is ready while open, not stopped (by
// a rollback or fork of its store), and it read the stored checkpoint
// within maxStall.
// Otherwise it answers 503 with the reason.
func Readyz(l *storage.Log, maxStall time.Duration) http.Handler {
	if maxStall <= 0 {
		maxStall = DefaultMaxStall
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := Ready(l, maxStall, time.Now()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err)
			return
		}
		_, tree := l.Checkpoint()
		fmt.Fprintf(w, "ok: tree %d\n", tree.N)
	})
}

// Ready reports why l is not ready at time now (see Readyz), or nil.
func Ready(l *storage.Log, maxStall time.Duration, now time.Time) error {
	s := l.Stats()
	switch {
	case s.Closed:
		return fmt.Errorf("ops: not ready: log closed")
	case s.Stopped != nil:
		return fmt.Errorf("ops: not ready: %v", s.Stopped)
	case s.ReadOnly && now.Sub(s.Refreshed) > maxStall:
		return fmt.Errorf("ops: not ready: the stored checkpoint was last read %v ago", now.Sub(s.Refreshed).Round(time.Millisecond))
	case int64(s.Pending)+s.InFlight > 0 && now.Sub(s.Published) > maxStall:
		return fmt.Errorf("ops: not ready: %d appends waiting, no checkpoint published for %v",
			int64(s.Pending)+s.InFlight, now.Sub(s.Published).Round(time.Millisecond))
	}
	return nil
}
