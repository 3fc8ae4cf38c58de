package wechat

import (
	"strings"
	"unicode"

	"hotline/normalize"
)

// CommandKind is what a text command asks for.
type CommandKind int

const (
	// CmdStatus: "查询 <ticket_no>" (or "查询", "查询进度": the latest ticket).
	CmdStatus CommandKind = iota + 1
	// CmdBind: "绑定 13800138000".
	CmdBind
	// CmdBindUsage: "绑定" without a valid mobile number.
	CmdBindUsage
	// CmdVerify: "验证 123456", the code sent by SMS to the number being bound.
	CmdVerify
)

// Command is a text message hotline answers itself instead of opening a ticket.
type Command struct {
	Kind     CommandKind
	TicketNo string // CmdStatus; empty: the latest ticket
	Phone    string // CmdBind, normalized
	Code     string // CmdVerify
}

// ParseCommand recognizes the commands. Only a text that is the command and
// nothing else counts, so that "查询一下为什么路灯不亮" stays a citizen's message.
func ParseCommand(text string) (Command, bool) {
	s := strings.TrimSpace(toHalfWidth(text))
	switch {
	case strings.HasPrefix(s, "查询"):
		rest := trimSep(strings.TrimPrefix(s, "查询"))
		switch {
		case rest == "" || rest == "进度" || rest == "工单":
			return Command{Kind: CmdStatus}, true
		case isTicketNo(rest):
			return Command{Kind: CmdStatus, TicketNo: rest}, true
		}
		// "查询工单 20261127-000001"
		if r := trimSep(strings.TrimPrefix(rest, "工单")); r != rest && isTicketNo(r) {
			return Command{Kind: CmdStatus, TicketNo: r}, true
		}
	case s == "进度查询":
		return Command{Kind: CmdStatus}, true
	case strings.HasPrefix(s, "绑定"):
		rest := trimSep(strings.TrimPrefix(s, "绑定"))
		rest = trimSep(strings.TrimPrefix(strings.TrimPrefix(rest, "手机号"), "手机"))
		if rest == "" {
			return Command{Kind: CmdBindUsage}, true
		}
		if !phoneish(rest) {
			return Command{}, false
		}
		if p, ok := normalize.Phone(rest); ok && len(p) == 11 && p[0] == '1' {
			return Command{Kind: CmdBind, Phone: p}, true
		}
		return Command{Kind: CmdBindUsage}, true
	case strings.HasPrefix(s, "验证"):
		rest := trimSep(strings.TrimPrefix(strings.TrimPrefix(s, "验证"), "码"))
		if len(rest) >= 4 && len(rest) <= 8 && allDigits(rest) {
			return Command{Kind: CmdVerify, Code: rest}, true
		}
	}
	return Command{}, false
}

// isTicketNo matches hotline's ticket numbers: YYYYMMDD-NNNNNN.
func isTicketNo(s string) bool {
	if len(s) != 15 || s[8] != '-' {
		return false
	}
	return allDigits(s[:8]) && allDigits(s[9:])
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func phoneish(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9') && !strings.ContainsRune("+- ()", r) {
			return false
		}
	}
	return true
}

func trimSep(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(":：,，", r) })
}

// toHalfWidth maps full-width digits, letters' dash and the ideographic space,
// which phone keyboards produce, to ASCII.
func toHalfWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == '－' || r == '—':
			return '-'
		case r == '\u3000':
			return ' '
		}
		return r
	}, s)
}
