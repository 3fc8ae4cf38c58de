package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// registered holds the migrations of feature files (channels' own tables),
// added by register from their init functions.
var registered []*gormigrate.Migration

// register adds feature migrations; IDs start with a timestamp so that the
// sorted order is the order they were written in.
func register(ms ...*gormigrate.Migration) { registered = append(registered, ms...) }

// migrations are applied in ID order and recorded in the table "migrations"; an
// applied migration is never edited, a change of schema is a new entry.
func migrations() []*gormigrate.Migration {
	all := append(coreMigrations(), registered...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
}

func coreMigrations() []*gormigrate.Migration {
	return []*gormigrate.Migration{
		{
			ID: "2026112701_init",
			Migrate: func(tx *gorm.DB) error {
				if err := tx.AutoMigrate(&Contact{}, &Ticket{}, &Message{}, &OutboxItem{},
					&TicketEvent{}, &User{}, &Token{}, &CallEvent{}, &Call{}, &KBEntry{},
					&Setting{}, &TicketCounter{}); err != nil {
					return err
				}
				return execAll(tx,
					// One contact per identity; partial so contacts may lack one.
					`CREATE UNIQUE INDEX IF NOT EXISTS ux_contacts_phone ON contacts (phone) WHERE phone <> ''`,
					`CREATE UNIQUE INDEX IF NOT EXISTS ux_contacts_openid ON contacts (openid) WHERE openid <> ''`,
					`CREATE INDEX IF NOT EXISTS ix_contacts_email ON contacts (email) WHERE email <> ''`,
					// A provider's message is stored once, however often it comes.
					`CREATE UNIQUE INDEX IF NOT EXISTS ux_messages_dedup ON messages (channel, dedup_key)`,
					// The outbox worker's claim query.
					`CREATE INDEX IF NOT EXISTS ix_outbox_due ON outbox_items (status, next_attempt_at)`,
					// Threading looks for the contact's newest open ticket.
					`CREATE INDEX IF NOT EXISTS ix_tickets_contact_status ON tickets (contact_id, status, created_at)`,
					// Keyset pagination of the inbox: newest first.
					`CREATE INDEX IF NOT EXISTS ix_tickets_created_id ON tickets (created_at DESC, id DESC)`,
					`CREATE INDEX IF NOT EXISTS ix_events_ticket_at ON ticket_events (ticket_id, at)`,
				)
			},
		},
	}
}

// dropRedundantIndexes removes single-column indexes the first schema had
// where a composite index with the same leading column serves every query;
// each one cost every intake insert a B-tree update.
var dropRedundantIndexes = &gormigrate.Migration{
	ID: "2026112750_drop_redundant_indexes",
	Migrate: func(tx *gorm.DB) error {
		return execAll(tx,
			`DROP INDEX IF EXISTS idx_tickets_created_at`,      // ix_tickets_created_id
			`DROP INDEX IF EXISTS idx_tickets_contact_id`,      // ix_tickets_contact_status
			`DROP INDEX IF EXISTS idx_tickets_status`,          // ix_inbox_status_created, ix_tickets_status_due
			`DROP INDEX IF EXISTS idx_tickets_channel`,         // ix_inbox_channel_created
			`DROP INDEX IF EXISTS idx_tickets_category`,        // ix_inbox_category_created
			`DROP INDEX IF EXISTS idx_tickets_unit_id`,         // ix_inbox_unit_created
			`DROP INDEX IF EXISTS idx_tickets_assignee_id`,     // ix_inbox_assignee_created
			`DROP INDEX IF EXISTS idx_messages_ticket_id`,      // ix_inbox_messages_ticket_dir
			`DROP INDEX IF EXISTS idx_ticket_events_ticket_id`, // ix_events_ticket_at
		)
	},
}

func init() { register(dropRedundantIndexes) }

func execAll(tx *gorm.DB, stmts ...string) error {
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// Migrate applies pending migrations; it is safe to run on every start and from
// several instances (PostgreSQL serializes them with an advisory lock).
func (s *Store) Migrate(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	run := func(db *gorm.DB) error {
		m := gormigrate.New(db, &gormigrate.Options{TableName: "migrations", IDColumnSize: 64, UseTransaction: s.driver == "postgres"}, migrations())
		if err := m.Migrate(); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return nil
	}
	if s.driver != "postgres" {
		return run(db)
	}
	return db.Connection(func(conn *gorm.DB) error {
		if err := conn.Exec(`SELECT pg_advisory_lock(727001)`).Error; err != nil {
			return err
		}
		defer conn.Exec(`SELECT pg_advisory_unlock(727001)`)
		return run(conn)
	})
}

// Applied lists the IDs of the applied migrations, oldest first.
func (s *Store) Applied(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Table("migrations").Order("id").Pluck("id", &ids).Error
	return ids, err
}
