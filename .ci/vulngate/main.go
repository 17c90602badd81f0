// Command vulngate reads `govulncheck -format json` on stdin and fails when
// the code calls a vulnerable function of a required module. Findings in the
// standard library are listed but do not fail the gate: they are fixed by the
// Go toolchain release, which this project pins (go 1.26), not by our code.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
)

type message struct {
	Finding *struct {
		OSV   string `json:"osv"`
		Trace []struct {
			Module   string `json:"module"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

func main() {
	dec := json.NewDecoder(os.Stdin)
	modules, stdlib := map[string]bool{}, map[string]bool{}
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "vulngate: reading govulncheck output:", err)
			os.Exit(2)
		}
		// Only findings whose trace reaches a function are called.
		if m.Finding == nil || len(m.Finding.Trace) == 0 || m.Finding.Trace[0].Function == "" {
			continue
		}
		if m.Finding.Trace[0].Module == "stdlib" {
			stdlib[m.Finding.OSV] = true
		} else {
			modules[m.Finding.OSV+" in "+m.Finding.Trace[0].Module] = true
		}
	}
	fmt.Printf("vulngate: %d called vulnerabilities in the standard library (fixed by a newer Go release): %v\n", len(stdlib), sorted(stdlib))
	if len(modules) > 0 {
		fmt.Printf("vulngate: FAIL: called vulnerabilities in required modules: %v\n", sorted(modules))
		os.Exit(1)
	}
	fmt.Println("vulngate: no called vulnerability in any required module")
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
