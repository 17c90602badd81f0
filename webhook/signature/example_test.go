package signature_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/otpreset/go/webhook/signature"
)

// A receiver checks every delivery against its raw body before decoding it.
// stoppedAt is a clock that tells one instant: any value with a Now method
// can be a Verifier's Clock.
type stoppedAt time.Time

func (c stoppedAt) Now() time.Time { return time.Time(c) }

func ExampleVerifier() {
	secrets := signature.Secrets{
		LoginRadius: "tenant-webhook-secret",
		Standard:    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}
	body := []byte(`{"HookName":"resetpassword","Time":"2026-05-01T12:00:00Z","HookId":"3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10","Data":{"Uid":"u-1"}}`)
	sent := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	// What the sender (webhook.HTTPSink) sets on the request:
	if err := signature.Sign(h, secrets, "3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10", sent, body); err != nil {
		panic(err)
	}

	// In the receiver (Clock is fixed here to keep the example's output
	// stable; a receiver leaves it nil, or calls signature.Verify).
	v := signature.Verifier{Secrets: secrets, Clock: stoppedAt(sent.Add(10 * time.Second))}
	fmt.Println("genuine:", v.Verify(h, body))

	tampered := []byte(strings.Replace(string(body), "u-1", "u-2", 1))
	fmt.Println("tampered:", errors.Is(v.Verify(h, tampered), signature.ErrInvalid))

	wrongKey := signature.Verifier{Secrets: signature.Secrets{LoginRadius: "guess"}}
	fmt.Println("wrong secret:", errors.Is(wrongKey.Verify(h, body), signature.ErrInvalid))

	replay := signature.Verifier{Secrets: secrets, Clock: stoppedAt(sent.Add(time.Hour))}
	fmt.Println("replayed an hour later:", errors.Is(replay.Verify(h, body), signature.ErrTimestampOutOfTolerance))
	// Output:
	// genuine: <nil>
	// tampered: true
	// wrong secret: true
	// replayed an hour later: true
}
