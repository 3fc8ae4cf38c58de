// Package sms turns SMS uplinks (Aliyun and Tencent push callbacks) into
// envelopes and delivers outbound SMS (log and http providers).
package sms

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/normalize"
)

// ErrMalformed wraps every parse failure (answered 400).
var ErrMalformed = normalize.ErrInvalid

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// aliyunUplink is one element of the Aliyun SmsUp push.
type aliyunUplink struct {
	PhoneNumber string          `json:"phone_number"`
	Content     string          `json:"content"`
	SendTime    string          `json:"send_time"`
	DestCode    string          `json:"dest_code"`
	SequenceID  json.RawMessage `json:"sequence_id"`
	SignName    string          `json:"sign_name"`
}

// ParseAliyun parses an Aliyun SmsUp push (a JSON array). Times without a zone
// are read in loc. Every element must be valid, or none is taken.
func ParseAliyun(body []byte, loc *time.Location) ([]normalize.Envelope, error) {
	var ups []aliyunUplink
	if err := strictJSON(body, &ups); err != nil {
		return nil, malformed("aliyun body: %v", err)
	}
	if len(ups) == 0 {
		return nil, malformed("aliyun body: empty array")
	}
	out := make([]normalize.Envelope, 0, len(ups))
	for i, u := range ups {
		seq, err := sequenceID(u.SequenceID)
		if err != nil {
			return nil, malformed("item %d: %v", i, err)
		}
		phone, ok := normalize.Phone(u.PhoneNumber)
		if !ok {
			return nil, malformed("item %d: invalid phone_number", i)
		}
		at := time.Now()
		if u.SendTime != "" {
			at, err = time.ParseInLocation("2006-01-02 15:04:05", u.SendTime, loc)
			if err != nil {
				return nil, malformed("item %d: send_time must be YYYY-MM-DD hh:mm:ss", i)
			}
		}
		raw, _ := json.Marshal(u)
		out = append(out, normalize.Envelope{
			Channel: normalize.SMS, DedupKey: "aliyun:" + seq,
			Sender: normalize.Sender{Phone: phone}, Text: u.Content, ReceivedAt: at, Raw: raw,
			Meta: map[string]string{"provider": "aliyun", "dest_code": u.DestCode, "sign_name": u.SignName},
		})
	}
	return out, nil
}

// sequenceID accepts a JSON number or string.
func sequenceID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", fmt.Errorf("missing sequence_id")
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("sequence_id: %v", err)
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("sequence_id must be a number or a string")
		}
		s = n.String()
	}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return "", fmt.Errorf("sequence_id empty or too long")
	}
	return s, nil
}

// tencentReply is the Tencent Cloud SMS reply callback.
type tencentReply struct {
	Extend     string          `json:"extend"`
	Mobile     string          `json:"mobile"`
	NationCode string          `json:"nationcode"`
	Sign       string          `json:"sign"`
	Text       string          `json:"text"`
	Time       json.RawMessage `json:"time"`
}

// ParseTencent parses a Tencent reply callback. Its dedup key is mobile + time +
// text (hashed to a fixed length).
func ParseTencent(body []byte) (normalize.Envelope, error) {
	var r tencentReply
	if err := strictJSON(body, &r); err != nil {
		return normalize.Envelope{}, malformed("tencent body: %v", err)
	}
	if r.NationCode != "" && r.NationCode != "86" {
		return normalize.Envelope{}, malformed("nationcode %q: only mainland numbers are served", r.NationCode)
	}
	phone, ok := normalize.Phone(r.Mobile)
	if !ok {
		return normalize.Envelope{}, malformed("invalid mobile")
	}
	secs, err := unixSeconds(r.Time)
	if err != nil {
		return normalize.Envelope{}, malformed("time: %v", err)
	}
	sum := sha256.Sum256([]byte(phone + "\x00" + strconv.FormatInt(secs, 10) + "\x00" + r.Text))
	raw, _ := json.Marshal(r)
	return normalize.Envelope{
		Channel: normalize.SMS, DedupKey: "tencent:" + hex.EncodeToString(sum[:20]),
		Sender: normalize.Sender{Phone: phone}, Text: r.Text, ReceivedAt: time.Unix(secs, 0), Raw: raw,
		Meta: map[string]string{"provider": "tencent", "extend": r.Extend, "sign_name": r.Sign},
	}, nil
}

func unixSeconds(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		raw = []byte(s)
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n <= 0 || n > 1<<33 {
		return 0, fmt.Errorf("must be Unix seconds")
	}
	return n, nil
}

// strictJSON decodes exactly one JSON value. Invalid UTF-8 is refused rather
// than silently turned into U+FFFD by encoding/json.
func strictJSON(b []byte, v any) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}
