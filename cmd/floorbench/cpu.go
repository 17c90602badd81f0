package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the times in /proc/stat and /proc/PID/stat: Linux
// reports them in USER_HZ, 100 on every architecture Go runs on.
const userHZ = 100

// machineTimes is the aggregate "cpu" line of /proc/stat, in USER_HZ ticks,
// summed over the machine's CPUs.
type machineTimes struct {
	user, nice, system, idle, iowait, irq, softirq, steal uint64
}

// busy is the time the CPUs ran something: everything but idle, waiting for
// I/O with nothing to run, and steal (another VM ran on them). guest and
// guest_nice are already inside user and nice.
func (m machineTimes) busy() uint64 {
	return m.user + m.nice + m.system + m.irq + m.softirq
}

// parseProcStat reads the aggregate line of /proc/stat.
func parseProcStat(data []byte) (machineTimes, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		if len(f) < 9 {
			return machineTimes{}, fmt.Errorf("/proc/stat: cpu line has %d fields, want at least 9", len(f))
		}
		var v [8]uint64
		for i := range v {
			n, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return machineTimes{}, fmt.Errorf("/proc/stat: cpu field %d: %w", i+1, err)
			}
			v[i] = n
		}
		return machineTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
	}
	return machineTimes{}, errors.New("/proc/stat: no aggregate cpu line")
}

// parsePidStat returns utime+stime, in USER_HZ ticks, of a /proc/PID/stat
// line. The command name (field 2) is in parentheses and may hold spaces, so
// the fields are counted from the last ')'.
func parsePidStat(data []byte) (uint64, error) {
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("/proc/PID/stat: no command name")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/PID/stat: %d fields after the name, want at least 13", len(f))
	}
	utime, err := strconv.ParseUint(f[11], 10, 64) // field 14
	if err != nil {
		return 0, fmt.Errorf("/proc/PID/stat utime: %w", err)
	}
	stime, err := strconv.ParseUint(f[12], 10, 64) // field 15
	if err != nil {
		return 0, fmt.Errorf("/proc/PID/stat stime: %w", err)
	}
	return utime + stime, nil
}

// ticks converts USER_HZ ticks to a duration.
func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / userHZ }

// cpuSample is what the load generator reads at each end of a phase.
type cpuSample struct {
	machine machineTimes
	self    time.Duration // the load generator's own CPU (getrusage)
	server  uint64        // the serving child's utime+stime, in ticks
}

// sampleCPU reads the machine's times, this process's CPU and the CPU of
// the server process pid.
func sampleCPU(pid int) (cpuSample, error) {
	var s cpuSample
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, fmt.Errorf("machine CPU time needs Linux's /proc: %w", err)
	}
	if s.machine, err = parseProcStat(data); err != nil {
		return s, err
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s, fmt.Errorf("getrusage: %w", err)
	}
	s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if data, err = os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil {
		return s, err
	}
	s.server, err = parsePidStat(data)
	return s, err
}

// cpuUse is the CPU a phase cost, split by who spent it.
type cpuUse struct {
	// Machine is every CPU's busy time during the phase.
	Machine time.Duration
	// Generator is the load generator's own CPU (this process).
	Generator time.Duration
	// Server is Machine less Generator: the server process, PostgreSQL,
	// the kernel's network work for both, and whatever else ran on the
	// machine (interleaved rounds spread that noise over both servers).
	Server time.Duration
	// ServerProcess is the serving process's own CPU alone.
	ServerProcess time.Duration
}

// cpuBetween is the CPU spent between two samples. A generator that spent
// more than the machine's busy time (samples read a tick apart) leaves a
// server share of zero, not a negative one.
func cpuBetween(a, b cpuSample) cpuUse {
	u := cpuUse{
		Machine:       ticks(b.machine.busy() - a.machine.busy()),
		Generator:     b.self - a.self,
		ServerProcess: ticks(b.server - a.server),
	}
	u.Server = max(0, u.Machine-u.Generator)
	return u
}

// perRequest is d divided over n requests (0 for none).
func perRequest(d time.Duration, n int64) time.Duration {
	if n <= 0 {
		return 0
	}
	return d / time.Duration(n)
}

// busyCPUs is busy time spread over elapsed: how many CPUs were busy.
func busyCPUs(busy, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return busy.Seconds() / elapsed.Seconds()
}
