package province

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"hotline/normalize"
	"hotline/ticket"
)

// Meta keys of an attachment fetch (outbox kind store.ProvinceFetchKind).
const (
	MetaURL   = "url"
	MetaIndex = "index" // position in the case's attachments, from 0
	MetaName  = "name"
)

// Attachments records a fetched attachment on its ticket: the file on the
// inbound message and an event. recorded is false when the attachment was
// already recorded (a redelivered fetch); the caller then drops its copy.
type Attachments interface {
	AttachmentFetched(ctx context.Context, ticketNo string, index int, a normalize.Attachment) (recorded bool, err error)
}

// Fetcher is the outbox sender of attachment fetches: it downloads one attachment of an
// inbound case into Dir (Dir/YYYYMM/<random><ext>), at most MaxBytes, within
// Timeout, after the case was answered. A timeout, a network error or a 5xx is
// retried with the outbox's backoff; a missing file (4xx) or one larger than
// MaxBytes is permanent, and the outbox dead-letters it on the ticket.
type Fetcher struct {
	Dir      string
	MaxBytes int64
	Timeout  time.Duration
	Client   *http.Client
	Store    Attachments
}

// Send fetches the attachment of m.
func (f *Fetcher) Send(ctx context.Context, m ticket.Outgoing) error {
	index, err := strconv.Atoi(m.Meta[MetaIndex])
	if err != nil || index < 0 {
		return ticket.Permanent(errors.New("attachment item without index"))
	}
	name := m.Meta[MetaName]
	what := fmt.Sprintf("attachment %d “%s”", index+1, name)
	// The download has its own bound, not the outbox's per-send timeout
	// (province.attachment_timeout is checked to fit in the outbox lease).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.Timeout)
	defer cancel()
	src := m.Meta[MetaURL]
	if src == "" {
		src = m.To
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return ticket.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, unwrapURLError(err))
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return fmt.Errorf("%s: HTTP %d", what, code)
	case code >= 400 && code < 500:
		return ticket.Permanent(fmt.Errorf("%s: HTTP %d (missing)", what, code))
	default:
		return fmt.Errorf("%s: HTTP %d", what, code)
	}
	tooLarge := ticket.Permanent(fmt.Errorf("%s: larger than %d bytes", what, f.MaxBytes))
	if resp.ContentLength > f.MaxBytes {
		return tooLarge
	}
	sub := time.Now().UTC().Format("200601")
	dir := filepath.Join(f.Dir, sub)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("attachments dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".fetch-*")
	if err != nil {
		return fmt.Errorf("attachments dir: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, f.MaxBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", what, unwrapURLError(err))
	}
	if n > f.MaxBytes {
		return tooLarge
	}
	head := make([]byte, 512)
	k, _ := tmp.ReadAt(head, 0)
	if err := tmp.Close(); err != nil {
		return err
	}
	rel := path.Join(sub, randomHex(16)+safeExt(name))
	full := filepath.Join(f.Dir, filepath.FromSlash(rel))
	if err := os.Rename(tmp.Name(), full); err != nil {
		return err
	}
	keep = true
	att := normalize.Attachment{Name: name, ContentType: http.DetectContentType(head[:k]), Size: n, URL: src, Path: rel}
	recorded, err := f.Store.AttachmentFetched(ctx, m.TicketNo, index, att)
	if err != nil || !recorded {
		os.Remove(full)
	}
	return err
}

// safeExt keeps a short alphanumeric extension of a declared name.
func safeExt(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if len(ext) < 2 || len(ext) > 8 {
		return ".bin"
	}
	for _, r := range ext[1:] {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return ".bin"
		}
	}
	return ext
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// unwrapURLError drops net/http's "Get <url>:" prefix (the URL is already in
// the item, and may be long).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
