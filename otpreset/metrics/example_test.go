package metrics_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otpreset/go/otpreset/metrics"
)

func Example() {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg) // pass m as otpreset.Config.Observer
	m.Lockout("my-app")
	n, _ := testutil.GatherAndCount(reg, "otpreset_lockouts_total")
	fmt.Println(n)
	// Output: 1
}
