package web

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/normalize"
)

// Attachment errors; their text is shown to the citizen.
var (
	ErrAttachmentType     = errors.New("附件类型不支持，仅支持图片（JPG、PNG、GIF、WEBP、BMP）、PDF、TXT 文本和 Word/Excel 文档")
	ErrAttachmentTooLarge = errors.New("附件太大")
	ErrAttachmentEmpty    = errors.New("附件是空文件")
)

// fileType is an allowed kind of attachment: the content type it is stored and
// served with, and the extension of its stored name.
type fileType struct {
	ContentType string
	Ext         string
}

var (
	typeJPEG = fileType{"image/jpeg", ".jpg"}
	typePNG  = fileType{"image/png", ".png"}
	typeGIF  = fileType{"image/gif", ".gif"}
	typeWEBP = fileType{"image/webp", ".webp"}
	typeBMP  = fileType{"image/bmp", ".bmp"}
	typePDF  = fileType{"application/pdf", ".pdf"}
	typeText = fileType{"text/plain; charset=utf-8", ".txt"}
	typeDOC  = fileType{"application/msword", ".doc"}
	typeXLS  = fileType{"application/vnd.ms-excel", ".xls"}
	typeDOCX = fileType{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"}
	typeXLSX = fileType{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"}
)

// byExt serves stored files: the type follows the stored extension, which only
// Save chose, so nothing uploaded can be served as HTML or script.
var byExt = map[string]fileType{}

func init() {
	for _, t := range []fileType{typeJPEG, typePNG, typeGIF, typeWEBP, typeBMP, typePDF, typeText, typeDOC, typeXLS, typeDOCX, typeXLSX} {
		byExt[t.Ext] = t
	}
}

var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// sniff decides the type from the first bytes (and, for zip and OLE
// containers, from the declared name's extension plus, for zip, the entries
// inside). The declared content type is never trusted.
func sniff(head []byte, name string, open func() (io.ReaderAt, int64, error)) (fileType, bool) {
	ext := strings.ToLower(path.Ext(name))
	if bytes.HasPrefix(head, oleMagic) {
		switch ext {
		case ".doc", ".wps":
			return typeDOC, true
		case ".xls", ".et":
			return typeXLS, true
		}
		return fileType{}, false
	}
	switch ct := http.DetectContentType(head); {
	case ct == "image/jpeg":
		return typeJPEG, true
	case ct == "image/png":
		return typePNG, true
	case ct == "image/gif":
		return typeGIF, true
	case ct == "image/webp":
		return typeWEBP, true
	case ct == "image/bmp":
		return typeBMP, true
	case ct == "application/pdf":
		return typePDF, true
	case strings.HasPrefix(ct, "text/plain"):
		return typeText, true
	case ct == "application/zip":
		if open == nil {
			return fileType{}, false
		}
		r, size, err := open()
		if err != nil {
			return fileType{}, false
		}
		zr, err := zip.NewReader(r, size)
		if err != nil {
			return fileType{}, false
		}
		for _, f := range zr.File {
			switch f.Name {
			case "word/document.xml":
				return typeDOCX, true
			case "xl/workbook.xml":
				return typeXLSX, true
			}
		}
	}
	return fileType{}, false
}

// Attachments stores uploaded files under Dir with random names.
type Attachments struct {
	Dir      string
	MaxBytes int64 // per file
	MaxFiles int
}

// Save reads one file (at most MaxBytes), checks its type by content and
// stores it as Dir/YYYYMM/<random><ext>. The returned attachment's Path is
// relative to Dir. On error nothing is left on disk.
func (a *Attachments) Save(name string, r io.Reader) (normalize.Attachment, error) {
	name = CleanFileName(name)
	sub := time.Now().UTC().Format("200601")
	dir := filepath.Join(a.Dir, sub)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return normalize.Attachment{}, fmt.Errorf("attachments dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("attachments: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(r, a.MaxBytes+1))
	if err != nil {
		return normalize.Attachment{}, fmt.Errorf("attachment %q: %w", name, err)
	}
	if n > a.MaxBytes {
		return normalize.Attachment{}, fmt.Errorf("%w：“%s”超过 %s", ErrAttachmentTooLarge, name, humanSize(a.MaxBytes))
	}
	if n == 0 {
		return normalize.Attachment{}, fmt.Errorf("%w：“%s”", ErrAttachmentEmpty, name)
	}
	head := make([]byte, 512)
	m, _ := tmp.ReadAt(head, 0)
	ft, ok := sniff(head[:m], name, func() (io.ReaderAt, int64, error) { return tmp, n, nil })
	if !ok {
		return normalize.Attachment{}, fmt.Errorf("%w（“%s”）", ErrAttachmentType, name)
	}
	if err := tmp.Close(); err != nil {
		return normalize.Attachment{}, err
	}
	rel := path.Join(sub, randomHex(16)+ft.Ext)
	if err := os.Rename(tmp.Name(), filepath.Join(a.Dir, filepath.FromSlash(rel))); err != nil {
		return normalize.Attachment{}, err
	}
	keep = true
	return normalize.Attachment{Name: name, ContentType: ft.ContentType, Size: n, Path: rel}, nil
}

// Remove deletes stored files (cleanup after a failed or duplicate submission).
func (a *Attachments) Remove(atts []normalize.Attachment) {
	for _, att := range atts {
		if p, ok := a.resolve(att.Path); ok {
			os.Remove(p)
		}
	}
}

// resolve maps a stored relative path to a file under Dir, refusing anything
// Save could not have produced.
func (a *Attachments) resolve(rel string) (string, bool) {
	if rel == "" || strings.Contains(rel, "\\") || path.IsAbs(rel) || path.Clean(rel) != rel || strings.HasPrefix(rel, "..") {
		return "", false
	}
	if _, ok := byExt[path.Ext(rel)]; !ok {
		return "", false
	}
	return filepath.Join(a.Dir, filepath.FromSlash(rel)), true
}

// Serve writes a stored attachment for download: the content type follows the
// stored extension (never HTML or script), the browser is told not to sniff and
// to download, and a sandboxing CSP covers anything opened inline anyway. The
// caller authorizes the request.
func (a *Attachments) Serve(w http.ResponseWriter, r *http.Request, att normalize.Attachment) {
	p, ok := a.resolve(att.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(p)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	name := att.Name
	if name == "" {
		name = path.Base(att.Path)
	}
	h := w.Header()
	h.Set("Content-Type", byExt[path.Ext(att.Path)].ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// CleanFileName keeps the base name of an uploaded file, without control
// characters, at most 100 characters; the name is only shown, never used as a
// path.
func CleanFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 100 {
		rs := []rune(name)
		ext := path.Ext(name)
		if len(ext) > 10 {
			ext = ""
		}
		name = string(rs[:100-utf8.RuneCountInString(ext)]) + ext
	}
	if name == "" || name == "." || name == ".." {
		name = "附件"
	}
	return name
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%g MB", float64(n*10/(1<<20))/10)
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n/(1<<10))
	}
	return fmt.Sprintf("%d 字节", n)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
