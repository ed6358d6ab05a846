// Package loadstat summarises a load run: latency percentiles (nearest
// rank) and the peak resident memory of a process, read from Linux's
// /proc/<pid>/status.
//
//	p50 := loadstat.Percentile(latencies, 50)
//	peak, err := loadstat.PeakRSS(pid) // bytes, from VmHWM
package loadstat
