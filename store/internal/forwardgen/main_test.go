package main

import (
	"os"
	"testing"
)

// TestSQLiteForwardUpToDate fails when store/sqlite/forward.go is not what
// go generate ./store/sqlite writes from store/postgres/forward.go.
func TestSQLiteForwardUpToDate(t *testing.T) {
	src, err := os.ReadFile("../../postgres/forward.go")
	if err != nil {
		t.Fatal(err)
	}
	want, err := render(src, "../postgres/forward.go", "sqlite")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../sqlite/forward.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("store/sqlite/forward.go is out of date: run go generate ./store/sqlite")
	}
}

func TestRenderRefusesAnotherPackage(t *testing.T) {
	if _, err := render([]byte("package sqlite\n"), "x.go", "sqlite"); err == nil {
		t.Fatal("render accepted a file that is not of package postgres")
	}
}
