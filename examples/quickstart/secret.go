package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// secretEnv names the environment variable read when -secret is not given.
const secretEnv = "OTPRESET_SECRET"

// minSecretBytes is otpreset's minimum for Config.Secret.
const minSecretBytes = 32

// generateHint tells an operator how to make a secret; it ends every error
// about a missing or malformed one.
const generateHint = "generate one with: openssl rand -hex 32"

// loadSecret returns the key under which codes are stored. A code is only
// usable by a process holding the same key, so the key must outlive the
// process wherever the codes do:
//   - -secret HEX, else $OTPRESET_SECRET: used as given, whatever the store.
//   - memory store: a fresh random key (the codes die with the process too).
//   - sqlite:PATH: a key kept in PATH.secret (mode 0600), created on the
//     first start, so a restart keeps every code sent before it.
//   - any shared store (PostgreSQL, Redis): refused, because several
//     instances must share one key and a key drawn here would be this
//     process's alone; the operator passes the same -secret to each.
func loadSecret(flagHex string, getenv func(string) string, storeSpec string, out io.Writer) ([]byte, error) {
	src, h := "-secret", flagHex
	if h == "" {
		src, h = secretEnv, getenv(secretEnv)
	}
	if h != "" {
		return parseSecret(src, h)
	}
	switch {
	case storeSpec == "" || storeSpec == "memory":
		return randomSecret()
	case strings.HasPrefix(storeSpec, "sqlite:"):
		file, ok := secretFileFor(strings.TrimPrefix(storeSpec, "sqlite:"))
		if !ok {
			return randomSecret() // an in-memory SQLite database
		}
		secret, created, err := secretFile(file)
		if err != nil {
			return nil, err
		}
		if created {
			fmt.Fprintln(out, "secret: generated and kept in", file)
		} else {
			fmt.Fprintln(out, "secret: read from", file)
		}
		return secret, nil
	default:
		return nil, fmt.Errorf("-store %s is shared by every instance, so they need one code secret: pass -secret HEX or set $%s (%s)", redactURL(storeSpec), secretEnv, generateHint)
	}
}

// parseSecret decodes a hex secret given by src.
func parseSecret(src, h string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(h))
	if err != nil {
		return nil, fmt.Errorf("%s: not hex (%s): %w", src, generateHint, err)
	}
	if len(b) < minSecretBytes {
		return nil, fmt.Errorf("%s: %d bytes, want at least %d (%s)", src, len(b), minSecretBytes, generateHint)
	}
	return b, nil
}

func randomSecret() ([]byte, error) {
	b := make([]byte, minSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return b, nil
}

// secretFileFor names the file beside a SQLite database that keeps its
// secret, or reports false for a database with no file.
func secretFileFor(dbPath string) (string, bool) {
	p, _, _ := strings.Cut(dbPath, "?") // SQLite URI parameters
	p = strings.TrimPrefix(p, "file:")
	if p == "" || p == ":memory:" {
		return "", false
	}
	return p + ".secret", true
}

// secretFile reads the hex secret kept in path, creating it with a fresh
// random secret when absent. Creation is atomic (written aside, then linked
// into place, which fails if the file appeared meanwhile), so two processes
// starting together on one database end with the same secret.
func secretFile(path string) (secret []byte, created bool, err error) {
	secret, err = readSecretFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	secret, err = randomSecret()
	if err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, false, fmt.Errorf("secret: create it beside the database: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; Chmod says so where it matters.
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return nil, false, fmt.Errorf("secret: %w", err)
	}
	_, err = tmp.WriteString(hex.EncodeToString(secret) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("secret: write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race: use its secret
			secret, err = readSecretFile(path)
			return secret, false, err
		}
		return nil, false, fmt.Errorf("secret: %w", err)
	}
	return secret, true, nil
}

// readSecretFile reads a secret file, refusing one that others may read:
// whoever reads it can forge the stored form of any code.
func readSecretFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret: %s is readable by others (mode %v): run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return parseSecret(path, string(b))
}

// redactURL hides a password in a store URL, so error messages can name
// the store.
func redactURL(spec string) string {
	u, err := url.Parse(spec)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
