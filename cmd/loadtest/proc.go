package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// readProcStatus returns the process's peak resident set size (VmHWM) and
// current one (VmRSS) in KiB, from /proc/self/status; zeros where /proc is
// missing (not Linux).
func readProcStatus() (hwmKiB, rssKiB int64) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	return parseProcStatus(data)
}

func parseProcStatus(data []byte) (hwmKiB, rssKiB int64) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		fields := strings.Fields(value) // "  123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if name == "VmHWM" {
			hwmKiB = n
		} else {
			rssKiB = n
		}
	}
	return hwmKiB, rssKiB
}

// resetPeakRSS sets VmHWM back to the current RSS (Linux 4.0+: "5" written
// to /proc/self/clear_refs). It reports whether that worked; when it did
// not, runs report how much the peak grew instead.
func resetPeakRSS() bool {
	before, _ := readProcStatus()
	if before == 0 {
		return false
	}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return false
	}
	after, rss := readProcStatus()
	return after <= before && after <= rss+1024
}
