// Package storetest opens throw-away stores for tests: a SQLite file in a temp
// dir always, and a fresh PostgreSQL schema when HOTLINE_TEST_POSTGRES_DSN is set
// (CI always sets it).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"hotline/store"
)

// PostgresEnv names the variable holding the PostgreSQL DSN for tests.
const PostgresEnv = "HOTLINE_TEST_POSTGRES_DSN"

// Drivers lists the drivers to run store tests on: sqlite, plus postgres when
// configured.
func Drivers() []string {
	if os.Getenv(PostgresEnv) != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// Each runs f once per driver as a subtest with a fresh, migrated store.
func Each(t *testing.T, f func(t *testing.T, s *store.Store)) {
	t.Helper()
	if os.Getenv(PostgresEnv) == "" {
		t.Logf("%s unset: PostgreSQL variant skipped", PostgresEnv)
	}
	for _, d := range Drivers() {
		t.Run(d, func(t *testing.T) { f(t, Open(t, d)) })
	}
}

// Options returns store options for a fresh database of driver (a new schema for
// PostgreSQL, dropped when the test ends).
func Options(t testing.TB, driver string) store.Options {
	t.Helper()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	o := store.Options{Driver: driver, MaxOpenConns: 16, NumberBlock: 5, Location: loc}
	switch driver {
	case "sqlite":
		o.DSN = filepath.Join(t.TempDir(), "hotline.db")
	case "postgres":
		base := os.Getenv(PostgresEnv)
		if base == "" {
			t.Skipf("%s is unset: no PostgreSQL to test against", PostgresEnv)
		}
		schema := "t_" + randHex(6)
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		})
		o.DSN = WithSearchPath(base, schema)
	}
	return o
}

// Open opens a fresh migrated store of driver, closed when the test ends.
func Open(t testing.TB, driver string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), Options(t, driver))
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// WithSearchPath adds a search_path to a key=value or URL PostgreSQL DSN.
func WithSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + schema
	}
	return dsn + " search_path=" + schema
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
