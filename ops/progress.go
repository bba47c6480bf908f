package ops

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// ProgressOptions configure StartProgress.
type ProgressOptions struct {
	// Name names the job in each report ("build", "audit").
	Name string
	// Total is the amount of work, in units of Unit; zero if unknown
	// (no percentage, no ETA).
	Total int64
	// Unit names what is counted (default "records").
	Unit string
	// Interval between reports (default 1s on a terminal, 30s otherwise).
	Interval time.Duration
	// Out receives the reports: on a terminal (an *os.File that is a
	// character device), one line rewritten in place and ended at the
	// finish; elsewhere, one line per report. Nil means no line output.
	Out io.Writer
	// Logger, if set, also gets each report at Info, with the fields
	// done, total, rate and eta.
	Logger *slog.Logger
	// Extra, if set, is appended to each report line.
	Extra func() string
}

// StartProgress reports the progress of a job whose work done so far
// count returns, until ctx ends or the returned function is called (which
// prints a last report).
func StartProgress(ctx context.Context, o ProgressOptions, count func() int64) (stop func()) {
	if o.Out == nil && o.Logger == nil {
		return func() {}
	}
	if o.Unit == "" {
		o.Unit = "records"
	}
	tty := IsTerminal(o.Out)
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second
		if tty {
			o.Interval = time.Second
		}
	}
	p := &progress{o: o, tty: tty, count: count, t0: time.Now()}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tk := time.NewTicker(o.Interval)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tk.C:
				p.report(false)
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			p.report(true)
		})
	}
}

type progress struct {
	o     ProgressOptions
	tty   bool
	count func() int64
	t0    time.Time
}

// report writes one report: rate over the whole job so far, and the ETA
// at that rate.
func (p *progress) report(final bool) {
	n := p.count()
	el := time.Since(p.t0)
	rate := 0.0
	if el > 0 {
		rate = float64(n) / el.Seconds()
	}
	line := fmt.Sprintf("%s: %d", p.o.Name, n)
	var eta time.Duration
	if p.o.Total > 0 {
		line += fmt.Sprintf("/%d %s (%.1f%%)", p.o.Total, p.o.Unit, 100*float64(n)/float64(p.o.Total))
		if rate > 0 && n < p.o.Total {
			eta = time.Duration(float64(p.o.Total-n) / rate * float64(time.Second))
		}
	} else {
		line += " " + p.o.Unit
	}
	line += fmt.Sprintf(" in %v, %s %s/s", el.Round(time.Second), siRate(rate), p.o.Unit)
	if p.o.Total > 0 && !final {
		if eta > 0 {
			line += fmt.Sprintf(", ETA %v", eta.Round(time.Second))
		} else {
			line += ", ETA -"
		}
	}
	if p.o.Extra != nil {
		line += ", " + p.o.Extra()
	}
	if p.o.Out != nil {
		switch {
		case p.tty && final:
			fmt.Fprintf(p.o.Out, "\r\033[K%s\n", line)
		case p.tty:
			fmt.Fprintf(p.o.Out, "\r\033[K%s", line)
		default:
			fmt.Fprintln(p.o.Out, line)
		}
	}
	if p.o.Logger != nil {
		p.o.Logger.Info(p.o.Name+" progress", "done", n, "total", p.o.Total, "rate", rate, "eta", eta.Round(time.Second), "final", final)
	}
}

// siRate formats a rate with k or M.
func siRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

// IsTerminal reports whether w is a terminal (an *os.File that is a
// character device).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
