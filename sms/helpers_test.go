package sms_test

import (
	"bytes"
	"log/slog"
	"sync"
	"time"

	"github.com/otpreset/go/sms"
)

// fixedClock is a clock stopped at one instant.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// logBuffer is a concurrency-safe buffer for a test's slog output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// codeTemplates are code templates that serve every language, by name;
// defaultName (one of them, or empty for sms.DefaultTemplate) serves a
// request that names none or an unknown one.
func codeTemplates(defaultName string, named map[string]string) (*sms.Templates, error) {
	code := make(map[string]map[string]string, len(named))
	for name, text := range named {
		code[name] = map[string]string{"": text}
	}
	return sms.NewLocalizedTemplates(sms.TemplateConfig{Code: code, DefaultCode: defaultName})
}
