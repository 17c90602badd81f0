package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// hostStore is what a host writes (and the quickstart did): its own type
// embedding a Composite to add methods of its own.
type hostStore struct {
	store.Composite
}

func TestGuessesOfEmbeddedComposite(t *testing.T) {
	m := memstore.New()
	parts := store.Composite{Users: m, Challenges: m, Sessions: m}

	_, ok := store.GuessesOf(hostStore{parts})
	assert.False(t, ok, "an embedded Composite without Guesses keeps no budget, whatever its promoted methods")
	_, ok = store.GuessesOf(&hostStore{parts})
	assert.False(t, ok, "the same through a pointer")
	_, ok = store.GuessesOf(parts)
	assert.False(t, ok, "a plain Composite without Guesses")

	parts.Guesses = m
	g, ok := store.GuessesOf(hostStore{parts})
	assert.True(t, ok, "an embedded Composite with Guesses keeps them")
	assert.Same(t, m, g.(*memstore.Store), "its Guesses part, not the wrapper")
	_, ok = store.GuessesOf(&parts)
	assert.True(t, ok, "a *Composite with Guesses")
	_, ok = store.GuessesOf(m)
	assert.True(t, ok, "a store that is a Guesses itself")
}
