// Package wechat is the WeChat official account (公众号) channel: the callback
// that WeChat calls with citizens' messages and events (plain and safe mode),
// passive replies, text commands (status query, phone binding), and the
// customer-service sender through which agents' replies go out.
//
// It builds on github.com/silenceper/wechat/v2 for the crypto helpers, the
// message types, the access token and the customer-service message format, but
// not for the callback server: hotline verifies signatures in constant time,
// refuses stale timestamps and stores before it answers.
package wechat

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/normalize"
)

// Message is one callback payload (after decryption), reduced to what hotline
// uses. Numbers stay strings: they are only compared and shown.
type Message struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   string `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	MsgID        string `xml:"MsgId"`
	Content      string `xml:"Content"`
	// voice
	MediaID     string `xml:"MediaId"`
	Format      string `xml:"Format"`
	Recognition string `xml:"Recognition"`
	// image
	PicURL string `xml:"PicUrl"`
	// video, shortvideo
	ThumbMediaID string `xml:"ThumbMediaId"`
	// location
	LocationX string `xml:"Location_X"`
	LocationY string `xml:"Location_Y"`
	Scale     string `xml:"Scale"`
	Label     string `xml:"Label"`
	// link
	Title       string `xml:"Title"`
	Description string `xml:"Description"`
	URL         string `xml:"Url"`
	// events
	Event    string `xml:"Event"`
	EventKey string `xml:"EventKey"`
}

// Limits of what a callback may carry; WeChat's own are far below.
const (
	maxIDLen    = 128
	maxFieldLen = 64 << 10
)

// ParseMessage decodes a plain callback XML document. It returns an error
// wrapping normalize.ErrInvalid for anything that is not a well-formed message
// from a user: WeChat always sends FromUserName, CreateTime and MsgType, and
// every message (not event) has a MsgId.
func ParseMessage(doc []byte) (Message, error) {
	var m Message
	if err := decodeXML(doc, &m); err != nil {
		return Message{}, err
	}
	m.FromUserName = strings.TrimSpace(m.FromUserName)
	m.ToUserName = strings.TrimSpace(m.ToUserName)
	m.MsgType = strings.TrimSpace(m.MsgType)
	m.MsgID = strings.TrimSpace(m.MsgID)
	m.CreateTime = strings.TrimSpace(m.CreateTime)
	m.Event = strings.TrimSpace(m.Event)
	for _, f := range []*string{&m.ToUserName, &m.FromUserName, &m.CreateTime, &m.MsgType, &m.MsgID, &m.Event, &m.MediaID, &m.Format} {
		if len(*f) > maxIDLen {
			return Message{}, invalid("field too long")
		}
	}
	for _, f := range []string{m.Content, m.Recognition, m.PicURL, m.Label, m.Title, m.Description, m.URL, m.EventKey, m.ThumbMediaID} {
		if len(f) > maxFieldLen {
			return Message{}, invalid("field too long")
		}
	}
	if m.FromUserName == "" {
		return Message{}, invalid("missing FromUserName")
	}
	if m.MsgType == "" {
		return Message{}, invalid("missing MsgType")
	}
	if _, err := strconv.ParseInt(m.CreateTime, 10, 64); err != nil {
		return Message{}, invalid("CreateTime must be Unix seconds")
	}
	if m.IsEvent() {
		if m.Event == "" {
			return Message{}, invalid("event without Event")
		}
	} else if m.MsgID == "" {
		return Message{}, invalid("message without MsgId")
	}
	return m, nil
}

// IsEvent reports whether m is an event push rather than a user's message.
func (m Message) IsEvent() bool { return m.MsgType == "event" }

// DedupKey identifies m at WeChat: "msg:"+MsgId for messages, and for events,
// which have no id, "evt:"+FromUserName+":"+CreateTime+":"+Event.
func (m Message) DedupKey() string {
	if m.IsEvent() {
		return "evt:" + m.FromUserName + ":" + m.CreateTime + ":" + m.Event
	}
	return "msg:" + m.MsgID
}

// Time is CreateTime as a time (zero if unparsable).
func (m Message) Time() time.Time {
	n, err := strconv.ParseInt(m.CreateTime, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// Envelope turns a user's message into the one model. raw is kept for audit
// (intake cuts it to intake.raw_max_bytes). Events have no envelope: ok false.
func (m Message) Envelope(raw []byte) (env normalize.Envelope, ok bool) {
	if m.IsEvent() {
		return normalize.Envelope{}, false
	}
	env = normalize.Envelope{
		Channel:    normalize.WeChat,
		DedupKey:   m.DedupKey(),
		Sender:     normalize.Sender{OpenID: m.FromUserName},
		ReceivedAt: m.Time(),
		Raw:        raw,
		Meta:       map[string]string{"msg_type": m.MsgType, "to_user": m.ToUserName},
	}
	switch m.MsgType {
	case "text":
		env.Text = m.Content
	case "voice":
		// Speech recognition (when the account enabled it) gives the text; the
		// recording itself stays at WeChat, referenced by its MediaId.
		env.Text = m.Recognition
		env.Attachments = media(m.MediaID, "voice", formatType(m.Format))
	case "image":
		if m.MediaID != "" || m.PicURL != "" {
			env.Attachments = []normalize.Attachment{{Name: "image", ContentType: "image/jpeg", Ref: m.MediaID, URL: m.PicURL}}
		}
	case "video", "shortvideo":
		env.Attachments = media(m.MediaID, m.MsgType, "video/mp4")
		env.Meta["thumb_media_id"] = m.ThumbMediaID
	case "location":
		label := strings.TrimSpace(m.Label)
		env.Sender.Address = label
		env.Text = locationText(label, m.LocationX, m.LocationY)
		env.Meta["latitude"], env.Meta["longitude"] = m.LocationX, m.LocationY
	case "link":
		env.Title = m.Title
		env.Text = joinNonEmpty("\n", m.Title, m.Description, m.URL)
	default:
		// A kind hotline does not know (file, miniprogram card ...): keep a
		// trace so that an agent sees something arrived.
		env.Text = "[" + m.MsgType + " 消息]"
		env.Attachments = media(m.MediaID, m.MsgType, "")
	}
	if env.Text == "" && len(env.Attachments) == 0 {
		env.Text = "[" + m.MsgType + " 消息]"
	}
	return env, true
}

func media(id, name, contentType string) []normalize.Attachment {
	if id == "" {
		return nil
	}
	return []normalize.Attachment{{Name: name, ContentType: contentType, Ref: id}}
}

func formatType(f string) string {
	switch f = strings.ToLower(strings.TrimSpace(f)); f {
	case "":
		return ""
	case "amr", "speex", "mp3":
		return "audio/" + f
	}
	return ""
}

// locationText writes the place so that a reader (and the classifier) sees it:
// "位置：<label>（纬度 x，经度 y）". Location_X is the latitude, Location_Y the
// longitude.
func locationText(label, lat, lng string) string {
	coords := ""
	if validCoord(lat, 90) && validCoord(lng, 180) {
		coords = "（纬度 " + lat + "，经度 " + lng + "）"
	}
	if label == "" && coords == "" {
		return ""
	}
	return "位置：" + label + coords
}

func validCoord(s string, limit float64) bool {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil && f >= -limit && f <= limit && len(s) <= 32
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// encrypted is the safe-mode envelope: everything is inside Encrypt.
type encrypted struct {
	ToUserName string `xml:"ToUserName"`
	Encrypt    string `xml:"Encrypt"`
}

// parseEncrypted extracts the Encrypt field of a safe-mode body.
func parseEncrypted(body []byte) (string, error) {
	var e encrypted
	if err := decodeXML(body, &e); err != nil {
		return "", err
	}
	e.Encrypt = strings.TrimSpace(e.Encrypt)
	if e.Encrypt == "" {
		return "", invalid("missing Encrypt")
	}
	return e.Encrypt, nil
}

// decodeXML decodes one <xml> document strictly enough for outside input: the
// root must be <xml>, text must be UTF-8, and no DTD is accepted (encoding/xml
// never fetches entities, but a DTD has no business in a callback).
func decodeXML(doc []byte, v any) error {
	if !utf8.Valid(doc) {
		return invalid("body is not UTF-8")
	}
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	// Decode reads the first element; check it is <xml> via a StartElement peek.
	for {
		tok, err := dec.Token()
		if err != nil {
			return invalid("no <xml> element")
		}
		if _, ok := tok.(xml.Directive); ok {
			return invalid("DTDs are not accepted")
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "xml" {
				return invalid("root element must be <xml>")
			}
			if err := dec.DecodeElement(v, &se); err != nil {
				return invalid("xml: %v", err)
			}
			break
		}
	}
	// Nothing but whitespace or comments may follow.
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return invalid("xml: %v", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return invalid("trailing data after </xml>")
			}
		case xml.Comment:
		default:
			return invalid("trailing data after </xml>")
		}
	}
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", normalize.ErrInvalid, fmt.Sprintf(format, a...))
}
