package otpreset

import (
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/otpreset/go/store"
)

// flow is what the steps of both endpoints share: the checked configuration
// and what New built from it. The steps live in the files named for their
// concern (request, limits, captcha, send, reset); Handler runs them.
type flow struct {
	cfg      Config
	log      *slog.Logger
	tenants  *tenants
	counters counters
	guesses  store.Guesses // the guessing budget (store.GuessesOf the Store, else in memory)
	// resetClears: the Store is a Resetter that keeps the budget too, so a
	// reset clears it in its own step (store.Reset.ClearGuesses).
	resetClears bool
	codes       *codeHasher
	tracer      trace.Tracer // nil: tracing off, no cost
	observed    bool         // an Observer was configured: requests are timed
}
