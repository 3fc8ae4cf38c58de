// Package store keeps tickets, messages, the outbox and everything else in SQL
// through gorm: SQLite (embedded default, pure Go) or PostgreSQL.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Options configure Open.
type Options struct {
	Driver       string // sqlite | postgres
	DSN          string
	MaxOpenConns int
	// NumberBlock is how many ticket numbers to reserve per counter update.
	NumberBlock int
	// Location is the city's time zone; ticket numbers carry its date.
	Location *time.Location
}

// Store is the database. Safe for concurrent use.
type Store struct {
	db      *gorm.DB
	driver  string
	loc     *time.Location
	numbers *numberAllocator
	extra   []io.Closer // further pools to close
}

// Open connects, tunes the connection and runs pending migrations.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Location == nil {
		o.Location = time.Local
	}
	gcfg := &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		SkipDefaultTransaction: true, // we open transactions where they matter
		PrepareStmt:            o.Driver == "postgres",
		TranslateError:         true,
	}
	var dial gorm.Dialector
	switch o.Driver {
	case "sqlite":
		dsn, err := sqliteDSN(o.DSN)
		if err != nil {
			return nil, err
		}
		dial = sqlite.Open(dsn)
	case "postgres":
		dial = postgres.New(postgres.Config{DSN: o.DSN})
	default:
		return nil, fmt.Errorf("unknown store driver %q", o.Driver)
	}
	db, err := gorm.Open(dial, gcfg)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", o.Driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if o.Driver == "sqlite" {
		// One writer at a time is SQLite's model; a few connections let readers
		// proceed in WAL mode while _txlock=immediate queues writers on the busy
		// timeout instead of failing on lock upgrades.
		sqlDB.SetMaxOpenConns(4)
	} else if o.MaxOpenConns > 0 {
		sqlDB.SetMaxOpenConns(o.MaxOpenConns)
		sqlDB.SetMaxIdleConns(o.MaxOpenConns)
	}
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect %s: %w", o.Driver, err)
	}
	s := &Store{db: db, driver: o.Driver, loc: o.Location}
	numDB := db
	if o.Driver == "postgres" {
		// Ticket-number blocks are reserved while an intake transaction holds a
		// pooled connection; a pool of their own means a full main pool can
		// never leave them waiting for a connection (a deadlock).
		if numDB, err = gorm.Open(postgres.New(postgres.Config{DSN: o.DSN}), gcfg); err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open %s: %w", o.Driver, err)
		}
		if nsql, err := numDB.DB(); err == nil {
			nsql.SetMaxOpenConns(2)
			s.extra = append(s.extra, nsql)
		}
	}
	s.numbers = newNumberAllocator(s, numDB, o.NumberBlock)
	if err := s.Migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return s, nil
}

// sqliteDSN turns a file path into a DSN with the pragmas hotline relies on, and
// creates the file's directory.
func sqliteDSN(path string) (string, error) {
	if path == "" {
		return "", errors.New("store.dsn: empty SQLite path")
	}
	if strings.Contains(path, "?") || strings.HasPrefix(path, "file:") {
		return path, nil // the operator wrote a full DSN
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return "", fmt.Errorf("store.dsn: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// No _time_format: this driver version stops reading the DSN after it, which
	// would silently drop _txlock. Times are always written in UTC, so the
	// driver's default text format still sorts and compares correctly.
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode(), nil
}

// Driver is "sqlite" or "postgres".
func (s *Store) Driver() string { return s.driver }

// DB exposes the gorm handle to tests that set up states no API reaches.
func (s *Store) DB() *gorm.DB { return s.db }

// Ping answers whether the database serves (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return sqlDB.PingContext(ctx)
}

// Close closes the pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	for _, c := range s.extra {
		c.Close()
	}
	if err := sqlDB.Close(); err != nil {
		return err
	}
	slog.Debug("store closed")
	return nil
}
