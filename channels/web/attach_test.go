package web

import (
	"archive/zip"
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hotline/normalize"
)

var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82")

func zipWith(t *testing.T, names ...string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, _ := zw.Create(n)
		w.Write([]byte("<x/>"))
	}
	zw.Close()
	return buf.Bytes()
}

var storedName = regexp.MustCompile(`^[0-9]{6}/[0-9a-f]{32}\.[a-z]+$`)

func TestAttachmentTypes(t *testing.T) {
	a := &Attachments{Dir: t.TempDir(), MaxBytes: 1 << 20, MaxFiles: 5}
	ole := append(append([]byte{}, oleMagic...), make([]byte, 600)...)
	for _, c := range []struct {
		name string
		data []byte
		want string // content type, "" = refused
	}{
		{"a.png", pngBytes, "image/png"},
		{"a.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00rest"), "image/jpeg"},
		{"a.gif", []byte("GIF89a......"), "image/gif"},
		{"a.pdf", []byte("%PDF-1.7\n..."), "application/pdf"},
		{"说明.txt", []byte("纯文本说明\n第二行"), "text/plain; charset=utf-8"},
		{"report.docx", zipWith(t, "[Content_Types].xml", "word/document.xml"), typeDOCX.ContentType},
		{"table.xlsx", zipWith(t, "[Content_Types].xml", "xl/workbook.xml"), typeXLSX.ContentType},
		{"old.doc", ole, "application/msword"},
		{"old.xls", ole, "application/vnd.ms-excel"},
		{"a.png", []byte("<!DOCTYPE html><html><body>x</body></html>"), ""},
		{"a.svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), ""},
		{"a.exe", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), ""},
		{"a.docx", zipWith(t, "evil.js"), ""},
		{"a.zip", zipWith(t, "word/document.xml")[:20], ""},
		{"a.msi", ole, ""},
	} {
		att, err := a.Save(c.name, bytes.NewReader(c.data))
		if c.want == "" {
			if err == nil {
				t.Errorf("%s accepted as %s", c.name, att.ContentType)
			}
			continue
		}
		if err != nil || att.ContentType != c.want {
			t.Errorf("%s: %+v %v", c.name, att, err)
			continue
		}
		if att.Name != c.name || att.Size != int64(len(c.data)) || !storedName.MatchString(att.Path) {
			t.Errorf("%s: %+v", c.name, att)
		}
		b, err := os.ReadFile(filepath.Join(a.Dir, att.Path))
		if err != nil || !bytes.Equal(b, c.data) {
			t.Errorf("%s: stored content differs", c.name)
		}
	}
	// refused files leave nothing behind (only the kept ones are on disk)
	var n int
	filepath.Walk(a.Dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n++
		}
		return nil
	})
	if n != 9 {
		t.Fatalf("%d files on disk, want 9", n)
	}
	if _, err := a.Save("empty.txt", bytes.NewReader(nil)); err == nil {
		t.Fatal("empty file accepted")
	}
}

func TestServeAttachment(t *testing.T) {
	a := &Attachments{Dir: t.TempDir(), MaxBytes: 1 << 20, MaxFiles: 5}
	att, err := a.Save(`..\..\照片"x".png`, bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	if att.Name != "照片x.png" {
		t.Fatalf("name %q", att.Name)
	}
	w := httptest.NewRecorder()
	a.Serve(w, httptest.NewRequest("GET", "/x", nil), att)
	h := w.Header()
	if w.Code != 200 || h.Get("Content-Type") != "image/png" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("%d %v", w.Code, h)
	}
	for _, p := range []string{"../x.png", "/etc/passwd", "202611/x.html", "202611/../../x.png", ""} {
		w := httptest.NewRecorder()
		a.Serve(w, httptest.NewRequest("GET", "/x", nil), normalize.Attachment{Path: p})
		if w.Code != 404 {
			t.Errorf("%q served: %d", p, w.Code)
		}
	}
}
