package otpreset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/otpreset/go/store"
)

// ErrCheckFailed is wrapped by every error Handler.Check returns. The
// components' own errors stay matchable too (errors.Is and errors.As see
// through it).
var ErrCheckFailed = errors.New("otpreset: start-up check failed")

// checker is a component that can tell, before the first request, whether
// it will work: a store that reaches its database and finds its schema and
// queries in order, a rate-limit store that reaches Redis, a sender whose
// credentials are accepted. Check is optional; components without it are
// not asked.
type checker interface {
	Check(ctx context.Context) error
}

// defaultCheckTimeout bounds Check when its context has no deadline.
const defaultCheckTimeout = 10 * time.Second

// Check asks every component of the handler that has a Check(ctx) error
// method whether it will work, all at once, and reports every problem in
// one error wrapping ErrCheckFailed, each named by its Config field
// ("Store", "Store.Users" for a store.Composite's part, "RateLimitStore",
// "Sender", "Webhooks", a tenant's "Captcha.Verifier" or "Breach", ...).
// A component shared by several fields is asked once.
//
// New checks the configuration without touching the network; Check is the
// step that does: call it once before serving, so that an unreachable
// database, a schema not yet migrated or a host query that does not prepare
// stops the program at start-up, not as 950 on every request:
//
//	if err := h.Check(ctx); err != nil {
//		log.Fatal(err)
//	}
//
// Without a deadline on ctx, Check gives up after 10 seconds; a component
// that has not answered by the deadline is reported as such.
func (h *Handler) Check(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultCheckTimeout)
		defer cancel()
	}
	parts := h.checkers()
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(parts))
	for i, p := range parts {
		go func() {
			defer func() {
				if v := recover(); v != nil {
					results <- result{i, fmt.Errorf("Check panicked: %v", v)}
				}
			}()
			results <- result{i, p.c.Check(ctx)}
		}()
	}
	errs := make([]error, len(parts))
	answered := make([]bool, len(parts))
	for range parts {
		select {
		case r := <-results:
			errs[r.i], answered[r.i] = r.err, true
		case <-ctx.Done():
			for i := range parts {
				if !answered[i] {
					errs[i] = fmt.Errorf("no answer: %w", ctx.Err())
				}
			}
			return joinChecks(parts, errs)
		}
	}
	return joinChecks(parts, errs)
}

// namedChecker is one component to check and the fields it fills.
type namedChecker struct {
	names []string
	c     checker
}

// joinChecks names each problem by its component's fields.
func joinChecks(parts []namedChecker, errs []error) error {
	var problems []error
	for i, err := range errs {
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", strings.Join(parts[i].names, ", "), err))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrCheckFailed, errors.Join(problems...))
}

// checkers lists the handler's components that have a Check method, each
// once, in a fixed order. A store.Composite without a Check of its own is
// checked part by part.
func (h *Handler) checkers() []namedChecker {
	var parts []namedChecker
	add := func(name string, v any) {
		c, ok := v.(checker)
		if !ok || isNil(v) {
			return
		}
		if reflect.TypeOf(v).Comparable() { // else == would panic
			for i := range parts {
				if any(parts[i].c) == v {
					parts[i].names = append(parts[i].names, name)
					return
				}
			}
		}
		parts = append(parts, namedChecker{names: []string{name}, c: c})
	}
	cfg := &h.cfg
	if _, ok := cfg.Store.(checker); !ok {
		if comp, ok := composite(cfg.Store); ok {
			add("Store.Users", comp.Users)
			add("Store.Challenges", comp.Challenges)
			add("Store.Sessions", comp.Sessions)
		}
	}
	add("Store", cfg.Store)
	add("RateLimitStore", cfg.RateLimitStore)
	add("Sender", cfg.Sender)
	add("Webhooks", cfg.Webhooks)
	add("Hasher", cfg.Hasher)
	add("Tokens", cfg.Tokens)
	add("Tenants", cfg.Tenants)
	keys := make([]string, 0, len(h.tenants.static))
	for k := range h.tenants.static {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := h.tenants.static[k]
		name := fmt.Sprintf("tenant %q (API key %q) ", s.ID, maskAPIKey(k))
		add(name+"Captcha.Verifier", s.Captcha.Verifier)
		add(name+"Breach", s.Breach)
	}
	return parts
}

// composite returns the parts of a store.Composite given by value or pointer.
func composite(s store.Store) (store.Composite, bool) {
	switch c := s.(type) {
	case store.Composite:
		return c, true
	case *store.Composite:
		if c != nil {
			return *c, true
		}
	}
	return store.Composite{}, false
}
