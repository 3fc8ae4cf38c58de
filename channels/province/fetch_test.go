package province

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/normalize"
	"hotline/ticket"
)

type fetched struct {
	got   []normalize.Attachment
	known bool
}

func (f *fetched) AttachmentFetched(_ context.Context, no string, index int, a normalize.Attachment) (bool, error) {
	if f.known {
		return false, nil
	}
	f.got = append(f.got, a)
	return true, nil
}

func TestFetcher(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok.txt", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("现场说明")) })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<20))
		w.Write(make([]byte, 1<<20))
	})
	mux.HandleFunc("/huge-chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 64 {
			w.Write(make([]byte, 1024))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("a"))
		w.(http.Flusher).Flush()
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", 503) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dir := t.TempDir()
	store := &fetched{}
	f := &Fetcher{Dir: dir, MaxBytes: 10 << 10, Timeout: 200 * time.Millisecond, Store: store}
	item := func(path, name string) ticket.Outgoing {
		return ticket.Outgoing{ID: 1, Via: "province_fetch", TicketNo: "T1", To: "C1",
			Meta: map[string]string{MetaURL: srv.URL + path, MetaIndex: "0", MetaName: name}}
	}
	ctx := context.Background()
	if err := f.Send(ctx, item("/ok.txt", "说明.txt")); err != nil {
		t.Fatal(err)
	}
	a := store.got[0]
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(a.Path)))
	if err != nil || string(b) != "现场说明" || a.Size != int64(len("现场说明")) || !strings.HasSuffix(a.Path, ".txt") ||
		!strings.HasPrefix(a.ContentType, "text/plain") || a.Name != "说明.txt" {
		t.Fatalf("stored %+v %q %v", a, b, err)
	}

	for _, c := range []struct {
		path      string
		permanent bool
	}{
		{"/missing", true}, {"/huge", true}, {"/huge-chunked", true}, {"/slow", false}, {"/busy", false},
	} {
		start := time.Now()
		err := f.Send(ctx, item(c.path, "x.bin"))
		if err == nil || errors.Is(err, ticket.ErrPermanent) != c.permanent {
			t.Fatalf("%s: %v", c.path, err)
		}
		if time.Since(start) > time.Second {
			t.Fatalf("%s: not bounded by the timeout", c.path)
		}
	}
	// a redelivered fetch keeps the first copy and leaves no second file
	store.known = true
	if err := f.Send(ctx, item("/ok.txt", "说明.txt")); err != nil {
		t.Fatal(err)
	}
	var files int
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files != 1 {
		t.Fatalf("%d files left, want 1 (failed and duplicate fetches must clean up)", files)
	}
}

func TestSafeExt(t *testing.T) {
	for name, want := range map[string]string{"a.JPG": ".jpg", "a": ".bin", "a.tar.gz": ".gz", "a.<script>": ".bin", "a.verylongext": ".bin"} {
		if got := safeExt(name); got != want {
			t.Fatalf("%s: %s", name, got)
		}
	}
}
