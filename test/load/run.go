package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// worker drives one connection and keeps its own counts, merged at the end, so that
// workers share nothing but the request budget.
type worker struct {
	conn      conn
	hist      histogram
	ok        int64
	non200    int64
	connErrs  int64
	late      int64 // rate mode: sent more than lateAfter after their scheduled time
	lastError error
}

// lateAfter is how far behind schedule a send may be before it counts as late: then the
// server, or this generator, is not keeping up with the rate.
const lateAfter = time.Millisecond

// runLoad runs the workers until the request budget or the duration is spent.
func runLoad(workers []*worker, o options) result {
	var budget atomic.Int64
	claim := func() bool { return o.n == 0 || budget.Add(1) <= o.n }
	begin := time.Now()
	deadline := begin.Add(o.duration)
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			if o.rate > 0 {
				interval := time.Duration(float64(time.Second) * float64(len(workers)) / o.rate)
				w.atRate(claim, begin.Add(interval*time.Duration(i)/time.Duration(len(workers))), interval, deadline)
			} else {
				w.flatOut(claim, deadline)
			}
			w.conn.close()
		})
	}
	wg.Wait()
	return collect(workers, time.Since(begin))
}

func (w *worker) flatOut(claim func() bool, deadline time.Time) {
	for claim() {
		start := time.Now()
		if start.After(deadline) {
			return
		}
		w.send(start)
	}
}

// atRate sends at fixed times, first, first+interval, ...; latency is measured from the
// actual send, and sends that could not leave on time are counted as late.
func (w *worker) atRate(claim func() bool, first time.Time, interval time.Duration, deadline time.Time) {
	for k := time.Duration(0); claim(); k++ {
		scheduled := first.Add(k * interval)
		if scheduled.After(deadline) {
			return
		}
		if wait := time.Until(scheduled); wait > 0 {
			time.Sleep(wait)
		} else if -wait > lateAfter {
			w.late++
		}
		w.send(time.Now())
	}
}

func (w *worker) send(start time.Time) {
	status, err := w.conn.roundTrip()
	switch {
	case err != nil:
		w.connErrs++
		w.lastError = err
		time.Sleep(10 * time.Millisecond) // do not spin on a server that is down
	case status != 200:
		w.non200++
		w.lastError = fmt.Errorf("HTTP status %d", status)
	default:
		w.ok++
		w.hist.record(time.Since(start))
	}
}

// result is what one run measured; durations are in the JSON as nanoseconds.
type result struct {
	File                 string        `json:"file"`
	Bytes                int           `json:"bytes"`
	Mode                 string        `json:"mode"`
	Elapsed              time.Duration `json:"elapsed"`
	OK                   int64         `json:"ok"`
	Non200               int64         `json:"non200"`
	ConnErrors           int64         `json:"connErrors"`
	Late                 int64         `json:"late"`
	LastError            string        `json:"lastError,omitempty"`
	RPS                  float64       `json:"rps"`
	P50, P90, P99, Max   time.Duration `json:"-"`
	Latency              latencyJSON   `json:"latencyMicros"`
	LoadCPU              time.Duration `json:"loadCPU"` // this generator's own
	ServerCPU            time.Duration `json:"serverCPU"`
	ServerCPUPerRequest  float64       `json:"serverCPUMicrosPerRequest"`
	PeakRSS              int64         `json:"serverPeakRSSBytes"`
	requestsForCPUFigure int64
}

type latencyJSON struct {
	P50, P90, P99, Max float64
}

func collect(workers []*worker, elapsed time.Duration) result {
	var total histogram
	r := result{Elapsed: elapsed}
	for _, w := range workers {
		total.merge(&w.hist)
		r.OK += w.ok
		r.Non200 += w.non200
		r.ConnErrors += w.connErrs
		r.Late += w.late
		if w.lastError != nil {
			r.LastError = w.lastError.Error()
		}
	}
	r.RPS = float64(r.OK) / elapsed.Seconds()
	r.P50, r.P90, r.P99, r.Max = total.quantile(.50), total.quantile(.90), total.quantile(.99), total.max
	r.Latency = latencyJSON{P50: micros(r.P50), P90: micros(r.P90), P99: micros(r.P99), Max: micros(r.Max)}
	r.requestsForCPUFigure = r.OK + r.Non200
	return r
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func (r *result) loadCPUPerRequest() float64 {
	if r.requestsForCPUFigure == 0 {
		return 0
	}
	return micros(r.LoadCPU) / float64(r.requestsForCPUFigure)
}

// tsvHeader names the fields of -format tsv.
const tsvHeader = "file ok errors late rps p50_us p90_us p99_us max_us server_cpu_us_per_request server_peak_rss_mib load_cpu_us_per_request"

func (r *result) print(out io.Writer, format string) {
	if r.ServerCPU > 0 && r.requestsForCPUFigure > 0 {
		r.ServerCPUPerRequest = micros(r.ServerCPU) / float64(r.requestsForCPUFigure)
	}
	switch format {
	case "json":
		_ = json.NewEncoder(out).Encode(r)
		return
	case "tsv":
		fmt.Fprintf(out, "%s\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\n", r.File, r.OK, r.Non200+r.ConnErrors, r.Late,
			r.RPS, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.ServerCPUPerRequest, float64(r.PeakRSS)/(1<<20), r.loadCPUPerRequest())
		return
	}
	fmt.Fprintf(out, "%s (%d bytes), %s\n", r.File, r.Bytes, r.Mode)
	fmt.Fprintf(out, "  %d requests in %.2fs: %.0f req/s; errors: %d non-200, %d connection; %d sent late\n",
		r.OK, r.Elapsed.Seconds(), r.RPS, r.Non200, r.ConnErrors, r.Late)
	fmt.Fprintf(out, "  latency p50 %v  p90 %v  p99 %v  max %v\n", r.P50, r.P90, r.P99, r.Max.Round(time.Microsecond))
	fmt.Fprintf(out, "  load generator CPU %.2fs = %.1f µs/request\n", r.LoadCPU.Seconds(), r.loadCPUPerRequest())
	if r.LastError != "" {
		fmt.Fprintf(out, "  last error: %s\n", r.LastError)
	}
	if r.ServerCPU > 0 {
		fmt.Fprintf(out, "  server CPU %.2fs = %.1f µs/request; peak RSS %.1f MiB\n",
			r.ServerCPU.Seconds(), r.ServerCPUPerRequest, float64(r.PeakRSS)/(1<<20))
	}
}
