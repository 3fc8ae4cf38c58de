// Package mail is the mayor's mailbox by e-mail: an IMAP receiver that turns
// every letter into one mayor_mailbox ticket, the MIME parsing it needs, and
// the SMTP sender of acknowledgments and replies. It depends on the pipeline
// only through the interfaces declared here.
package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	gomail "github.com/emersion/go-message/mail"
	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/text/encoding/simplifiedchinese"

	"hotline/normalize"
)

func init() {
	// GB18030 is a superset of GBK and GB2312: decoding all three with it
	// keeps the characters mailers put in "gb2312" letters anyway (and the
	// 4-byte sequences of GB18030 proper, such as 𠀀).
	for _, name := range []string{"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "ms936", "windows-936", "euc-cn", "csgb2312", "csgbk", "chinese"} {
		charset.RegisterEncoding(name, simplifiedchinese.GB18030)
	}
}

// Part is an attachment of a letter.
type Part struct {
	Name        string
	ContentType string // as declared (the store sniffs the real one)
	Data        []byte
}

// Letter is a parsed e-mail.
type Letter struct {
	MessageID  string   // without angle brackets; empty if absent
	InReplyTo  []string // without angle brackets
	References []string // without angle brackets
	Subject    string
	FromName   string
	FromAddr   string // lower-cased
	Date       time.Time
	Text       string // the body as plain text
	FromHTML   bool   // Text was extracted from an HTML body
	Parts      []Part
	// NoAutoReply says why the letter must not be answered automatically
	// (auto-submitted, list or bulk mail, a bounce, a no-reply sender); empty
	// when an acknowledgment is fine.
	NoAutoReply string
}

// ErrUnreadable is returned for input that has no readable mail header.
var ErrUnreadable = errors.New("unreadable e-mail")

// maxParts bounds the parts looked at, against pathological nesting.
const maxParts = 200

// Parse reads a whole RFC 5322 message. It is lenient: unknown charsets,
// broken parts and truncated bodies keep what could be read.
func Parse(raw []byte) (*Letter, error) {
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil && !gomessage.IsUnknownCharset(err) {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	h := mr.Header
	l := &Letter{}
	if id, err := h.MessageID(); err == nil {
		l.MessageID = cleanID(id)
	}
	if l.MessageID == "" {
		l.MessageID = cleanID(strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>"))
	}
	l.InReplyTo = msgIDs(h, "In-Reply-To")
	l.References = msgIDs(h, "References")
	l.Subject = headerText(h.Header, "Subject")
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		l.FromName, l.FromAddr = fixText(from[0].Name), strings.ToLower(from[0].Address)
	} else if a := looseAddress(h.Get("From")); a != "" {
		l.FromAddr = a
		l.FromName = headerText(h.Header, "From")
	}
	if l.FromAddr == "" {
		// Some bounces carry no usable From; Sender or Return-Path may.
		for _, k := range []string{"Sender", "Reply-To", "Return-Path"} {
			if a := looseAddress(h.Get(k)); a != "" {
				l.FromAddr = a
				break
			}
		}
	}
	l.Date, _ = h.Date()
	l.NoAutoReply = autoReason(h, l.FromAddr)

	var plain, htmls []string
	for i := 0; i < maxParts; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !gomessage.IsUnknownCharset(err) {
			break // a broken or truncated part: keep what came before
		}
		ct, params, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if ct == "" {
			ct = "text/plain"
		}
		body, rerr := io.ReadAll(io.LimitReader(p.Body, 64<<20))
		if rerr != nil && len(body) == 0 {
			continue
		}
		switch hd := p.Header.(type) {
		case *gomail.InlineHeader:
			switch ct {
			case "text/plain":
				plain = append(plain, decodeLeftover(body, params["charset"]))
				continue
			case "text/html":
				htmls = append(htmls, decodeLeftover(body, params["charset"]))
				continue
			}
			// inline images and the like: keep them as attachments
			l.Parts = append(l.Parts, Part{Name: partName(hd.Header, ct, len(l.Parts)+1), ContentType: ct, Data: body})
		case *gomail.AttachmentHeader:
			name, _ := hd.Filename()
			if name == "" {
				name = partName(hd.Header, ct, len(l.Parts)+1)
			}
			l.Parts = append(l.Parts, Part{Name: fixText(name), ContentType: ct, Data: body})
		}
	}
	switch {
	case len(plain) > 0:
		l.Text = tidy(strings.Join(plain, "\n\n"))
	case len(htmls) > 0:
		l.Text, l.FromHTML = HTMLToText(strings.Join(htmls, "\n")), true
	}
	return l, nil
}

func msgIDs(h gomail.Header, k string) []string {
	ids, err := h.MsgIDList(k)
	if err != nil {
		return nil
	}
	out := ids[:0]
	for _, id := range ids {
		if id = cleanID(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

func cleanID(s string) string {
	s = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' {
			return -1
		}
		return r
	}, s)
	if !utf8.ValidString(s) {
		return ""
	}
	return s
}

// headerText decodes an RFC 2047 header; raw 8-bit headers that are not UTF-8
// are read as GB18030 (what Chinese mailers send when they do not encode).
func headerText(h gomessage.Header, k string) string {
	s, err := h.Text(k)
	if err != nil {
		s = h.Get(k)
	}
	return fixText(s)
}

func fixText(s string) string {
	if !utf8.ValidString(s) {
		if d, err := simplifiedchinese.GB18030.NewDecoder().String(s); err == nil && utf8.ValidString(d) {
			s = d
		} else {
			s = strings.ToValidUTF8(s, "")
		}
	}
	return strings.Join(strings.Fields(normalize.CleanText(s)), " ")
}

// decodeLeftover handles bodies go-message could not convert (unknown or
// missing charset): UTF-8 as is, else GB18030, else the valid bytes only.
func decodeLeftover(b []byte, cs string) string {
	if utf8.Valid(b) {
		return string(b)
	}
	if d, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b); err == nil && utf8.Valid(d) {
		return string(d)
	}
	return strings.ToValidUTF8(string(b), "")
}

var addrRE = regexp.MustCompile(`[A-Za-z0-9._%+\-=]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

func looseAddress(s string) string {
	return strings.ToLower(addrRE.FindString(s))
}

func partName(h gomessage.Header, ct string, n int) string {
	if _, params, err := h.ContentDisposition(); err == nil && params["filename"] != "" {
		return fixText(params["filename"])
	}
	if _, params, err := h.ContentType(); err == nil && params["name"] != "" {
		return fixText(params["name"])
	}
	ext := ""
	if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
		ext = exts[0]
	}
	if ct == "message/rfc822" {
		ext = ".eml"
	}
	return fmt.Sprintf("附件%d%s", n, ext)
}

// autoReason tells why a letter must not get an automatic answer (RFC 3834
// and the usual mailer conventions), or "" when it may.
func autoReason(h gomail.Header, from string) string {
	if v := strings.TrimSpace(strings.SplitN(h.Get("Auto-Submitted"), ";", 2)[0]); v != "" && !strings.EqualFold(v, "no") {
		return "auto-submitted: " + strings.ToLower(v)
	}
	switch p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p {
	case "bulk", "list", "junk", "auto_reply":
		return "precedence: " + p
	}
	if h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" || h.Get("X-Autogenerated") != "" {
		return "auto-reply header"
	}
	if v := strings.ToLower(h.Get("X-Auto-Response-Suppress")); strings.Contains(v, "all") || strings.Contains(v, "autoreply") || strings.Contains(v, "oof") {
		return "x-auto-response-suppress: " + v
	}
	if h.Get("List-Id") != "" || h.Get("List-Unsubscribe") != "" {
		return "mailing list"
	}
	if h.Get("X-Failed-Recipients") != "" {
		return "bounce"
	}
	if ct, _, _ := h.ContentType(); ct == "multipart/report" {
		return "delivery report"
	}
	if rp := strings.TrimSpace(h.Get("Return-Path")); rp == "<>" {
		return "null return path"
	}
	if from == "" {
		return "no sender address"
	}
	local := from
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		local = from[:i]
	}
	local = strings.NewReplacer("-", "", "_", "", ".", "").Replace(local)
	for _, p := range []string{"mailerdaemon", "postmaster", "noreply", "donotreply", "notreply", "bounce", "bounces"} {
		if local == p || strings.HasPrefix(local, p+"+") {
			return "sender " + from
		}
	}
	return ""
}

var (
	blockTag  = regexp.MustCompile(`(?i)<\s*/?\s*(br|p|div|li|tr|h[1-6]|table|blockquote|hr|pre|section|article|ul|ol)\b[^>]*>`)
	cellTag   = regexp.MustCompile(`(?i)<\s*/\s*t[dh]\s*>`)
	strict    = bluemonday.StrictPolicy()
	manyBlank = regexp.MustCompile(`\n{3,}`)
)

// HTMLToText turns an HTML body into readable plain text: block elements
// become line breaks, every tag is dropped (scripts and styles with their
// content), entities are unescaped and whitespace collapsed.
func HTMLToText(s string) string {
	s = blockTag.ReplaceAllString(s, "\n$0")
	s = cellTag.ReplaceAllString(s, "$0 ")
	s = strict.Sanitize(s)
	s = html.UnescapeString(s)
	return tidy(s)
}

// tidy collapses runs of spaces within lines and of blank lines.
func tidy(s string) string {
	s = normalize.CleanText(strings.ReplaceAll(s, "\u00a0", " "))
	lines := strings.Split(s, "\n")
	for i, ln := range lines {
		lines[i] = strings.Join(strings.Fields(ln), " ")
	}
	return strings.TrimSpace(manyBlank.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// DedupKey is the letter's key of the contract: "mid:"+Message-ID, else
// "uid:"+UIDVALIDITY+":"+UID. Very long Message-IDs are hashed to fit.
func DedupKey(messageID string, uidValidity, uid uint32) string {
	if messageID != "" {
		k := "mid:" + messageID
		if len(k) <= 200 {
			return k
		}
		sum := sha256.Sum256([]byte(messageID))
		return "mid:sha256:" + hex.EncodeToString(sum[:])
	}
	return fmt.Sprintf("uid:%d:%d", uidValidity, uid)
}

// Envelope is the letter as the pipeline's envelope. maxChars (> 0) cuts a
// longer body with a note; the raw message stays with the envelope.
func (l *Letter) Envelope(uidValidity, uid uint32, maxChars int) normalize.Envelope {
	text := l.Text
	switch {
	case text != "":
	case l.Subject != "":
		text = l.Subject
	case len(l.Parts) > 0:
		text = "（来信无正文，请见附件）"
	default:
		text = "（来信无正文）"
	}
	const cut = "\n……（正文过长，以下从略，完整内容见原始邮件）"
	if maxChars > 0 && utf8.RuneCountInString(text) > maxChars {
		rs := []rune(text)
		text = string(rs[:maxChars-utf8.RuneCountInString(cut)]) + cut
	}
	meta := map[string]string{"message_id": l.MessageID, "subject": l.Subject}
	if len(l.References) > 0 {
		meta["references"] = "<" + strings.Join(l.References, "> <") + ">"
	}
	if len(l.InReplyTo) > 0 {
		meta["in_reply_to"] = l.InReplyTo[0]
	}
	if l.NoAutoReply != "" {
		meta["no_autoreply"] = "1"
		meta["no_autoreply_reason"] = l.NoAutoReply
	}
	return normalize.Envelope{
		Channel:  normalize.MayorMailbox,
		DedupKey: DedupKey(l.MessageID, uidValidity, uid),
		Sender:   normalize.Sender{Name: l.FromName, Email: l.FromAddr},
		Title:    l.Subject,
		Text:     text,
		Meta:     meta,
	}
}
