package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"

	"hotline/ticket"
)

// UserView is a user without the password hash.
type UserView struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	UnitID      *int64 `json:"unit_id,omitempty"`
	Active      bool   `json:"active"`
}

func userView(u User) UserView {
	return UserView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, UnitID: u.UnitID, Active: u.Active}
}

// CountUsers tells whether the first-start admin must be created.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&User{}).Count(&n).Error
	return n, err
}

// CreateUser adds a user; the username must be new (ErrConflict otherwise).
func (s *Store) CreateUser(ctx context.Context, username, display, role, hash string, unitID *int64) (UserView, error) {
	u := User{Username: username, DisplayName: display, Role: role, PasswordHash: hash, UnitID: unitID, Active: true}
	if err := s.db.WithContext(ctx).Create(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return UserView{}, ticket.ErrConflict
		}
		return UserView{}, err
	}
	return userView(u), nil
}

// SetPassword replaces a user's password hash.
func (s *Store) SetPassword(ctx context.Context, username, hash string) error {
	res := s.db.WithContext(ctx).Model(&User{}).Where("username = ?", username).Update("password_hash", hash)
	if res.Error == nil && res.RowsAffected == 0 {
		return ticket.ErrNotFound
	}
	return res.Error
}

// UserForLogin returns an active user and its password hash.
func (s *Store) UserForLogin(ctx context.Context, username string) (UserView, string, error) {
	var u User
	err := s.db.WithContext(ctx).Where("username = ? AND active = ?", username, true).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return UserView{}, "", ticket.ErrNotFound
	}
	return userView(u), u.PasswordHash, err
}

// ListUsers lists all users by name.
func (s *Store) ListUsers(ctx context.Context) ([]UserView, error) {
	var us []User
	if err := s.db.WithContext(ctx).Order("username").Find(&us).Error; err != nil {
		return nil, err
	}
	out := make([]UserView, len(us))
	for i, u := range us {
		out[i] = userView(u)
	}
	return out, nil
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// SaveToken stores (the hash of) a new bearer token.
func (s *Store) SaveToken(ctx context.Context, tok string, userID int64, expires time.Time) error {
	return s.db.WithContext(ctx).Create(&Token{Hash: hashToken(tok), UserID: userID, ExpiresAt: expires.UTC(), CreatedAt: time.Now().UTC()}).Error
}

// UserByToken resolves an unexpired token of an active user.
func (s *Store) UserByToken(ctx context.Context, tok string) (UserView, error) {
	var u User
	err := s.db.WithContext(ctx).Table("users u").Select("u.*").
		Joins("JOIN tokens t ON t.user_id = u.id").
		Where("t.hash = ? AND t.expires_at > ? AND u.active = ?", hashToken(tok), time.Now().UTC(), true).
		Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return UserView{}, ticket.ErrNotFound
	}
	return userView(u), err
}

// DeleteToken ends a session.
func (s *Store) DeleteToken(ctx context.Context, tok string) error {
	return s.db.WithContext(ctx).Where("hash = ?", hashToken(tok)).Delete(&Token{}).Error
}

// Setting returns a stored setting ("" if unset).
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var st Setting
	err := s.db.WithContext(ctx).Where("key = ?", key).Limit(1).Find(&st).Error
	return st.Value, err
}

// SettingOrCreate returns the stored value of key, storing gen() first if the key
// is unset; created tells whether this call stored it. Safe across instances.
func (s *Store) SettingOrCreate(ctx context.Context, key string, gen func() string) (val string, created bool, err error) {
	db := s.db.WithContext(ctx)
	res := db.Exec(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`, key, gen(), time.Now().UTC())
	if res.Error != nil {
		return "", false, res.Error
	}
	val, err = s.Setting(ctx, key)
	return val, res.RowsAffected == 1, err
}
