// Package auth holds password hashing, bearer tokens and the roles of the work
// standard.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"

	"golang.org/x/crypto/bcrypt"
)

// Roles of the hotline centre and its partners.
const (
	RoleIntake     = "intake_agent"   // 受理坐席
	RoleTransfer   = "transfer_clerk" // 转办坐席
	RoleFollowUp   = "followup_agent" // 回访坐席
	RoleSupervisor = "supervisor"     // 督办室
	RoleUnit       = "unit_user"      // 承办单位
	RoleAdmin      = "admin"
)

// Roles lists every role with its Chinese name, in display order.
var Roles = []struct{ Key, Name string }{
	{RoleIntake, "受理坐席"}, {RoleTransfer, "转办坐席"}, {RoleFollowUp, "回访坐席"},
	{RoleSupervisor, "督办室"}, {RoleUnit, "承办单位"}, {RoleAdmin, "管理员"},
}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool {
	for _, x := range Roles {
		if x.Key == r {
			return true
		}
	}
	return false
}

// CentreStaff are the roles that work tickets of every unit and may see
// citizens' contact data (confidential tickets hide it from units).
func CentreStaff(role string) bool {
	return role != RoleUnit && ValidRole(role)
}

// ErrWeakPassword is returned for passwords shorter than 8 characters.
var ErrWeakPassword = errors.New("password must have at least 8 characters")

// Hash returns the bcrypt hash of pw.
func Hash(pw string, cost int) (string, error) {
	if len([]rune(pw)) < 8 {
		return "", ErrWeakPassword
	}
	if cost < bcrypt.MinCost {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	return string(h), err
}

// Check reports whether pw matches hash.
func Check(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// dummyHash makes a login for an unknown user cost as much as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not-a-password"), bcrypt.DefaultCost)

// CheckMissing burns the time of a password check for an unknown user.
func CheckMissing(pw string) { bcrypt.CompareHashAndPassword(dummyHash, []byte(pw)) }

// NewToken returns a random URL-safe secret of 32 bytes.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// RandomPassword returns a random password for generated accounts.
func RandomPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
