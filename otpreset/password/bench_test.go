package password

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// hashLines returns n distinct lines in the Pwned Passwords download format.
func hashLines(n int) []byte {
	var buf bytes.Buffer
	var seed [8]byte
	for i := range n {
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		s := sha1.Sum(seed[:])
		fmt.Fprintf(&buf, "%s:%d\r\n", strings.ToUpper(hex.EncodeToString(s[:])), i%1000+1)
	}
	return buf.Bytes()
}

func BenchmarkReadList1M(b *testing.B) {
	data := hashLines(1_000_000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		l, err := ReadList(bytes.NewReader(data), ListOptions{Format: FormatSHA1})
		if err != nil || l.Len() != 1_000_000 {
			b.Fatal(l.Len(), err)
		}
	}
}

func BenchmarkListBreached1M(b *testing.B) {
	l, err := ReadList(bytes.NewReader(hashLines(1_000_000)), ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap := ms.HeapAlloc
	ctx := context.Background()
	for b.Loop() {
		if _, err := l.Breached(ctx, "StrongP@ssw0rd!"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(heap)/float64(l.Len()), "heapB/entry")
	runtime.KeepAlive(l)
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := Policy{RejectContainingPhone: true}
	for b.Loop() {
		if _, err := p.Check("StrongP@ssw0rd! ＡＢＣ ﬁ", "+919999999999"); err != nil {
			b.Fatal(err)
		}
	}
}
