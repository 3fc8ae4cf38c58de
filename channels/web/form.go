// Package web is the website channel (网站受理) and the web form of the
// mayor's mailbox (市长信箱): server-rendered Chinese forms, the submissions
// API of the contract, and the public status query by ticket number and query
// code. It depends on the pipeline only through the interfaces declared here.
package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode/utf8"

	"hotline/normalize"
)

// Submission is one letter as the contract's JSON or a form post carries it.
type Submission struct {
	Channel      normalize.Channel `json:"channel"`
	Name         string            `json:"name"`
	Phone        string            `json:"phone"`
	Email        string            `json:"email"`
	Address      string            `json:"address"`
	Title        string            `json:"title"`
	Content      string            `json:"content"`
	Confidential bool              `json:"confidential"`
	ReplyWanted  bool              `json:"reply_wanted"`
}

// Field length limits, in characters.
const (
	MaxName    = 50
	MaxAddress = 200
	MaxTitle   = 100
	MaxEmail   = 200
	// DefaultMaxContent applies when Limits.MaxContent is not set.
	DefaultMaxContent = 5000
)

// FieldErrors maps a form field to a message in Chinese for the citizen.
type FieldErrors map[string]string

// Error lists the messages in form order, so it reads well as one sentence.
func (fe FieldErrors) Error() string {
	var msgs []string
	for _, f := range fieldOrder {
		if m, ok := fe[f]; ok {
			msgs = append(msgs, m)
		}
	}
	return strings.Join(msgs, "；")
}

var fieldOrder = []string{"channel", "name", "phone", "email", "address", "title", "content", "attachments", "form"}

// ParseJSON decodes the contract's JSON body. Unknown fields are ignored (an
// integrator may send more than we need); wrong types and trailing data are
// errors. The error message is for the citizen or integrator, in Chinese.
func ParseJSON(body []byte) (Submission, error) {
	var s Submission
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&s); err != nil {
		return Submission{}, fmt.Errorf("请求内容不是有效的 JSON：%v", err)
	}
	if dec.More() {
		return Submission{}, fmt.Errorf("请求内容在 JSON 之后还有多余的数据")
	}
	return s, nil
}

// ParseValues reads the form fields of a urlencoded or multipart post.
func ParseValues(v url.Values) Submission {
	return Submission{
		Channel:      normalize.Channel(v.Get("channel")),
		Name:         v.Get("name"),
		Phone:        v.Get("phone"),
		Email:        v.Get("email"),
		Address:      v.Get("address"),
		Title:        v.Get("title"),
		Content:      v.Get("content"),
		Confidential: checked(v.Get("confidential")),
		ReplyWanted:  checked(v.Get("reply_wanted")),
	}
}

func checked(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "1", "true", "yes", "是":
		return true
	}
	return false
}

// Normalize cleans the text fields and checks them; it returns the cleaned
// submission (phone normalized) and the problems found, nil when none.
// maxContent <= 0 means DefaultMaxContent.
func (s Submission) Normalize(maxContent int) (Submission, FieldErrors) {
	if maxContent <= 0 {
		maxContent = DefaultMaxContent
	}
	fe := FieldErrors{}
	if s.Channel == "" {
		s.Channel = normalize.Website
	}
	if s.Channel != normalize.Website && s.Channel != normalize.MayorMailbox {
		fe["channel"] = "留言渠道只能是网站（website）或市长信箱（mayor_mailbox）"
	}
	line := func(v string) string { return strings.Join(strings.Fields(normalize.CleanText(v)), " ") }
	s.Name, s.Address, s.Title = line(s.Name), line(s.Address), line(s.Title)
	s.Email = strings.TrimSpace(s.Email)
	s.Phone = strings.TrimSpace(s.Phone)
	s.Content = normalize.CleanText(s.Content)
	for _, f := range []struct {
		name, label, v string
		max            int
	}{{"name", "姓名", s.Name, MaxName}, {"address", "地址", s.Address, MaxAddress}, {"title", "标题", s.Title, MaxTitle}, {"email", "电子邮箱", s.Email, MaxEmail}} {
		if !utf8.ValidString(f.v) {
			fe[f.name] = f.label + "含有无法识别的字符"
		} else if n := utf8.RuneCountInString(f.v); n > f.max {
			fe[f.name] = fmt.Sprintf("%s不能超过%d个字（现有%d个字）", f.label, f.max, n)
		}
	}
	switch n := utf8.RuneCountInString(s.Content); {
	case !utf8.ValidString(s.Content):
		fe["content"] = "留言内容含有无法识别的字符"
	case n == 0:
		fe["content"] = "请填写留言内容"
	case n > maxContent:
		fe["content"] = fmt.Sprintf("留言内容不能超过%d个字（现有%d个字），请精简后再提交", maxContent, n)
	}
	if s.Phone != "" {
		if p, ok := normalize.Phone(s.Phone); ok {
			s.Phone = p
		} else {
			fe["phone"] = "电话号码格式不正确，请填写11位手机号码或带区号的固定电话"
		}
	}
	if s.Email != "" && fe["email"] == "" {
		if a, err := mail.ParseAddress(s.Email); err != nil || a.Address != s.Email || !strings.Contains(a.Address, ".") {
			fe["email"] = "电子邮箱格式不正确，例如 name@example.com"
		}
	}
	if s.Phone == "" && s.Email == "" && fe["phone"] == "" && fe["email"] == "" {
		switch {
		case s.Channel == normalize.MayorMailbox:
			fe["phone"] = "请填写手机号码或电子邮箱，以便答复您"
		case s.ReplyWanted:
			fe["phone"] = "需要答复时，请填写手机号码或电子邮箱"
		}
	}
	if len(fe) == 0 {
		return s, nil
	}
	return s, fe
}

// Envelope turns a normalized submission into the pipeline's envelope.
func (s Submission) Envelope(dedupKey string, raw []byte) normalize.Envelope {
	return normalize.Envelope{
		Channel:  s.Channel,
		DedupKey: dedupKey,
		Sender: normalize.Sender{
			Name: s.Name, Phone: s.Phone, Email: s.Email, Address: s.Address,
		},
		Title:        s.Title,
		Text:         s.Content,
		Raw:          raw,
		Confidential: s.Confidential,
		ReplyWanted:  s.ReplyWanted,
		Meta:         map[string]string{"source": "web"},
	}
}
