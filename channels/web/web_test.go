package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/normalize"
	"hotline/ticket"
)

// fakeIntake stores envelopes by channel+dedup key like the real store.
type fakeIntake struct {
	mu   sync.Mutex
	envs []normalize.Envelope
	keys map[string]ticket.Receipt
	err  error
}

func (f *fakeIntake) IngestEnvelope(_ context.Context, env normalize.Envelope) (ticket.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return ticket.Receipt{}, f.err
	}
	if err := env.Validate(0); err != nil {
		return ticket.Receipt{}, err
	}
	if f.keys == nil {
		f.keys = map[string]ticket.Receipt{}
	}
	k := string(env.Channel) + "|" + env.DedupKey
	if r, ok := f.keys[k]; ok {
		r.Duplicate = true
		return r, nil
	}
	f.envs = append(f.envs, env)
	r := ticket.Receipt{TicketNo: fmt.Sprintf("20261127-%06d", len(f.envs)), TicketID: int64(len(f.envs)), MessageID: int64(len(f.envs))}
	f.keys[k] = r
	return r, nil
}

func (f *fakeIntake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.envs)
}

type fakeStore struct {
	mu     sync.Mutex
	hashes map[int64]string
	no     map[string]int64
	intake *fakeIntake
	err    error
}

func (s *fakeStore) SaveQueryCode(_ context.Context, id int64, hash string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false, s.err
	}
	if s.hashes == nil {
		s.hashes, s.no = map[int64]string{}, map[string]int64{}
	}
	if _, ok := s.hashes[id]; ok {
		return false, nil
	}
	s.hashes[id] = hash
	s.no[fmt.Sprintf("20261127-%06d", id)] = id
	return true, nil
}

func (s *fakeStore) PublicStatus(_ context.Context, no, hash string) (Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.no[no]
	if !ok || s.hashes[id] != hash {
		return Status{}, ticket.ErrNotFound
	}
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	return Status{TicketNo: no, Channel: "website", Status: "answered", Title: "路灯", CreatedAt: at, Result: "已修复", ResultAt: &at}, nil
}

type env struct {
	h      *Handler
	r      *gin.Engine
	intake *fakeIntake
	store  *fakeStore
	dir    string
}

func newEnv(t *testing.T) *env {
	gin.SetMode(gin.TestMode)
	in := &fakeIntake{}
	st := &fakeStore{intake: in}
	dir := t.TempDir()
	h := &Handler{
		Intake: in, Store: st, Limiter: NewMemoryLimiter(),
		Files:   &Attachments{Dir: dir, MaxBytes: 1 << 20, MaxFiles: 2},
		CSRFKey: func(context.Context) ([]byte, error) { return []byte("test-key-0123456789"), nil },
		Limits:  Limits{PerIP: 100, PerPhone: 100, Window: time.Hour, QueryPerIP: 3, MaxContent: 200},
		MaxBody: 64 << 10, Site: "德州市12345市民热线", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	r := gin.New()
	h.Routes(r)
	return &env{h: h, r: r, intake: in, store: st, dir: dir}
}

func (e *env) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.r.ServeHTTP(w, req)
	return w
}

var hiddenRE = regexp.MustCompile(`name="(csrf_token|form_id)" value="([^"]+)"`)

// openForm GETs a form page and returns its cookie and hidden fields.
func (e *env) openForm(t *testing.T, path string) (*http.Cookie, url.Values) {
	t.Helper()
	w := e.do(httptest.NewRequest("GET", path, nil))
	if w.Code != 200 {
		t.Fatalf("GET %s: %d", path, w.Code)
	}
	var ck *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == csrfCookie {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly {
		t.Fatalf("no HttpOnly csrf cookie: %v", w.Result().Cookies())
	}
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(w.Body.String(), -1) {
		v.Set(m[1], m[2])
	}
	if v.Get("csrf_token") == "" || v.Get("form_id") == "" {
		t.Fatalf("hidden fields missing")
	}
	return ck, v
}

func TestFormPages(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{"/submit": "网上留言", "/mayor": "市长信箱"} {
		w := e.do(httptest.NewRequest("GET", path, nil))
		body := w.Body.String()
		if w.Code != 200 || !strings.Contains(body, "<h1>"+want+"</h1>") {
			t.Fatalf("%s: %d %s", path, w.Code, body)
		}
		csp := w.Header().Get("Content-Security-Policy")
		if csp == "" || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
			t.Fatalf("csp %q", csp)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Fatalf("%s: inline script/style or external resource", path)
		}
		for _, f := range []string{"name", "phone", "email", "address", "title", "content", "attachments", "reply", "confidential"} {
			if !strings.Contains(body, `<label for="f-`+f+`"`) || !strings.Contains(body, `id="f-`+f+`"`) {
				t.Fatalf("%s: field %s has no label", path, f)
			}
		}
		if !strings.Contains(body, `name="viewport"`) {
			t.Fatal("not mobile-friendly")
		}
	}
	w := e.do(httptest.NewRequest("GET", "/forms/assets/style.css", nil))
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("css %d %s", w.Code, w.Header().Get("Content-Type"))
	}
}

func formPost(ck *http.Cookie, v url.Values) *http.Request {
	req := httptest.NewRequest("POST", "/api/v1/submissions", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if ck != nil {
		req.AddCookie(ck)
	}
	return req
}

var codeRE = regexp.MustCompile(`class="big code">([A-Z0-9]+)<`)

func TestFormSubmitAndQuery(t *testing.T) {
	e := newEnv(t)
	ck, v := e.openForm(t, "/mayor")
	v.Set("channel", "mayor_mailbox")
	v.Set("name", " 李四 ")
	v.Set("phone", "+86 139-0013-9000")
	v.Set("title", "噪音")
	v.Set("content", "  夜间施工噪音扰民  ")
	v.Set("reply_wanted", "1")
	w := e.do(formPost(ck, v))
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, "20261127-000001") {
		t.Fatalf("post: %d %s", w.Code, body)
	}
	m := codeRE.FindStringSubmatch(body)
	if m == nil || len(m[1]) != QueryCodeLen {
		t.Fatalf("no query code on receipt: %s", body)
	}
	got := e.intake.envs[0]
	if got.Channel != normalize.MayorMailbox || got.Sender.Phone != "13900139000" || got.Sender.Name != "李四" ||
		got.Text != "夜间施工噪音扰民" || !got.ReplyWanted || got.Confidential || !strings.HasPrefix(got.DedupKey, "form:") {
		t.Fatalf("envelope %+v", got)
	}
	if e.store.hashes[1] != HashQueryCode("20261127-000001", m[1]) {
		t.Fatal("stored hash is not the code's")
	}
	for h := range e.store.hashes {
		if strings.Contains(e.store.hashes[h], m[1]) {
			t.Fatal("code stored in clear")
		}
	}

	// Posting the same form again (reload, double click): same ticket, no code.
	w = e.do(formPost(ck, v))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "留言已提交过") || codeRE.MatchString(w.Body.String()) || e.intake.count() != 1 {
		t.Fatalf("repost: %d %s", w.Code, w.Body.String())
	}

	// The query page with the code, lower-case and spaced as people type it.
	q := url.Values{"ticket_no": {"20261127-000001"}, "query_code": {strings.ToLower(m[1][:5] + " " + m[1][5:])}}
	req := httptest.NewRequest("POST", "/query", strings.NewReader(q.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = e.do(req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "已答复") || !strings.Contains(w.Body.String(), "已修复") {
		t.Fatalf("query page: %d %s", w.Code, w.Body.String())
	}
	if strings.Contains(w.Body.String(), "13900139000") {
		t.Fatal("contact data on the status page")
	}
}

func TestFormCSRF(t *testing.T) {
	e := newEnv(t)
	ck, v := e.openForm(t, "/submit")
	v.Set("content", "路灯坏了")
	for name, req := range map[string]*http.Request{
		"no cookie":    formPost(nil, v),
		"other token":  formPost(ck, url.Values{"csrf_token": {"x"}, "content": {"路灯坏了"}}),
		"other cookie": formPost(&http.Cookie{Name: csrfCookie, Value: strings.Repeat("a", 43)}, v),
	} {
		w := e.do(req)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: %d", name, w.Code)
		}
	}
	// A cross-site page cannot send JSON without a preflight; text/plain is refused.
	req := httptest.NewRequest("POST", "/api/v1/submissions", strings.NewReader(`{"content":"x"}`))
	req.Header.Set("Content-Type", "text/plain")
	if w := e.do(req); w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", w.Code)
	}
	if e.intake.count() != 0 {
		t.Fatal("something was ingested")
	}
}

func TestFormValidationMessages(t *testing.T) {
	e := newEnv(t)
	ck, v := e.openForm(t, "/mayor")
	v.Set("channel", "mayor_mailbox")
	v.Set("phone", "12345")
	v.Set("title", strings.Repeat("长", 101))
	v.Set("content", "")
	w := e.do(formPost(ck, v))
	body := w.Body.String()
	if w.Code != 400 {
		t.Fatalf("%d", w.Code)
	}
	for _, want := range []string{"电话号码格式不正确", "标题不能超过100个字", "请填写留言内容", `aria-invalid="true"`, `value="12345"`} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q", want)
		}
	}
	if e.intake.count() != 0 {
		t.Fatal("invalid form ingested")
	}
}

func jsonPost(body string, hdr ...string) *http.Request {
	req := httptest.NewRequest("POST", "/api/v1/submissions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

func TestJSONSubmitAndStatus(t *testing.T) {
	e := newEnv(t)
	w := e.do(jsonPost(`{"channel":"website","name":"王五","phone":"13800138000","email":"w@example.com","address":"德城区","title":"路灯","content":"小区路灯坏了","confidential":true,"reply_wanted":true}`))
	if w.Code != http.StatusCreated {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
	var out struct{ TicketNo, QueryCode string }
	var raw map[string]any
	json.Unmarshal(w.Body.Bytes(), &raw)
	out.TicketNo, _ = raw["ticket_no"].(string)
	out.QueryCode, _ = raw["query_code"].(string)
	if out.TicketNo == "" || len(out.QueryCode) != QueryCodeLen || len(raw) != 2 {
		t.Fatalf("answer %s", w.Body.String())
	}
	if env := e.intake.envs[0]; !env.Confidential || !env.ReplyWanted || env.Sender.Email != "w@example.com" {
		t.Fatalf("envelope %+v", env)
	}

	get := func(no, code string) *httptest.ResponseRecorder {
		return e.do(httptest.NewRequest("GET", "/api/v1/submissions/"+no+"?query_code="+url.QueryEscape(code), nil))
	}
	w = get(out.TicketNo, out.QueryCode)
	if w.Code != 200 {
		t.Fatalf("status %d %s", w.Code, w.Body.String())
	}
	var st map[string]any
	json.Unmarshal(w.Body.Bytes(), &st)
	if st["status"] != "answered" || st["status_text"] != "已答复" || st["result"].(map[string]any)["text"] != "已修复" {
		t.Fatalf("status %s", w.Body.String())
	}
	for _, k := range []string{"citizen", "phone", "name", "email", "address"} {
		if _, ok := st[k]; ok {
			t.Fatalf("contact field %q in public status", k)
		}
	}
	wrong := get(out.TicketNo, "AAAAAAAAAA")
	unknown := get("20261127-999999", out.QueryCode)
	if wrong.Code != 404 || unknown.Code != 404 || wrong.Body.String() != unknown.Body.String() {
		t.Fatalf("wrong %d %s / unknown %d %s", wrong.Code, wrong.Body, unknown.Code, unknown.Body)
	}
	// QueryPerIP is 3: the third failure reaches the limit, then even the
	// right code is refused for this client.
	get(out.TicketNo, "")
	if w := get(out.TicketNo, out.QueryCode); w.Code != http.StatusTooManyRequests {
		t.Fatalf("after 3 failures: %d", w.Code)
	}
	req := httptest.NewRequest("GET", "/api/v1/submissions/"+out.TicketNo+"?query_code="+out.QueryCode, nil)
	req.RemoteAddr = "192.0.2.9:1234"
	if w := e.do(req); w.Code != 200 {
		t.Fatalf("other client: %d", w.Code)
	}
}

func TestJSONErrors(t *testing.T) {
	e := newEnv(t)
	for name, c := range map[string]struct {
		body string
		code int
		msg  string
	}{
		"malformed":   {`{"content":`, 400, "JSON"},
		"wrong type":  {`{"content":"x","confidential":"yes"}`, 400, "JSON"},
		"no content":  {`{"channel":"website","content":"  "}`, 400, "请填写留言内容"},
		"bad phone":   {`{"content":"路灯","phone":"1380013800"}`, 400, "电话号码格式不正确"},
		"bad email":   {`{"content":"路灯","email":"a@"}`, 400, "电子邮箱格式不正确"},
		"mayor no id": {`{"channel":"mayor_mailbox","content":"路灯"}`, 400, "手机号码或电子邮箱"},
		"bad channel": {`{"channel":"sms","content":"路灯","phone":"13800138000"}`, 400, "留言渠道"},
		"too long":    {`{"content":"` + strings.Repeat("字", 201) + `"}`, 400, "不能超过200个字"},
		"too large":   {`{"content":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
	} {
		w := e.do(jsonPost(c.body))
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.msg) {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	if e.intake.count() != 0 {
		t.Fatal("invalid submissions ingested")
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	body := `{"content":"路灯坏了","phone":"13800138000"}`
	w1 := e.do(jsonPost(body, "Idempotency-Key", "k-1"))
	w2 := e.do(jsonPost(body, "Idempotency-Key", "k-1"))
	if w1.Code != 201 || w2.Code != 200 || e.intake.count() != 1 {
		t.Fatalf("%d %s / %d %s", w1.Code, w1.Body, w2.Code, w2.Body)
	}
	var a, b map[string]any
	json.Unmarshal(w1.Body.Bytes(), &a)
	json.Unmarshal(w2.Body.Bytes(), &b)
	if a["ticket_no"] != b["ticket_no"] || b["query_code"] != "" || b["duplicate"] != true {
		t.Fatalf("%v %v", a, b)
	}
}

func TestQueryCodeCompletedOnRetry(t *testing.T) {
	e := newEnv(t)
	e.store.err = fmt.Errorf("db down")
	body := `{"content":"路灯坏了"}`
	if w := e.do(jsonPost(body, "Idempotency-Key", "k")); w.Code != 503 || !strings.Contains(w.Body.String(), "20261127-000001") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	e.store.err = nil
	w := e.do(jsonPost(body, "Idempotency-Key", "k"))
	var b map[string]any
	json.Unmarshal(w.Body.Bytes(), &b)
	if w.Code != 200 || b["ticket_no"] != "20261127-000001" || len(b["query_code"].(string)) != QueryCodeLen || e.intake.count() != 1 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestRateLimits(t *testing.T) {
	e := newEnv(t)
	e.h.Limits.PerIP, e.h.Limits.PerPhone = 3, 2
	phone := func(p string) string { return `{"content":"路灯坏了","phone":"` + p + `"}` }
	codes := []int{}
	for _, p := range []string{"13800138000", "138 0013 8000", "13800138000"} {
		codes = append(codes, e.do(jsonPost(phone(p))).Code)
	}
	if fmt.Sprint(codes) != "[201 201 429]" {
		t.Fatalf("per phone: %v", codes)
	}
	// the phone-limited attempt still counted for the IP: 3 of 3 used
	if w := e.do(jsonPost(phone("13900139000"))); w.Code != 429 {
		t.Fatalf("per ip: %d", w.Code)
	}
	ck, v := e.openForm(t, "/submit")
	v.Set("content", "x")
	if w := e.do(formPost(ck, v)); w.Code != 429 || !strings.Contains(w.Body.String(), "频繁") {
		t.Fatalf("form per ip: %d", w.Code)
	}
	req := jsonPost(phone("13700137000"))
	req.RemoteAddr = "198.51.100.7:999"
	if w := e.do(req); w.Code != 201 {
		t.Fatalf("other ip: %d", w.Code)
	}
}

func multipartPost(t *testing.T, ck *http.Cookie, v url.Values, files map[string][]byte) *http.Request {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range v {
		for _, s := range vs {
			mw.WriteField(k, s)
		}
	}
	for name, data := range files {
		fw, _ := mw.CreateFormFile("attachments", name)
		fw.Write(data)
	}
	// an empty file input, as browsers send it
	fw, _ := mw.CreateFormField("attachments")
	fw.Write(nil)
	mw.Close()
	req := httptest.NewRequest("POST", "/api/v1/submissions", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.AddCookie(ck)
	return req
}

func listFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestMultipartAttachments(t *testing.T) {
	e := newEnv(t)
	ck, v := e.openForm(t, "/submit")
	v.Set("content", "垃圾堆放，见照片")
	w := e.do(multipartPost(t, ck, v, map[string][]byte{"现场.png": pngBytes, "说明.txt": []byte("文字说明")}))
	if w.Code != 200 || !codeRE.MatchString(w.Body.String()) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	atts := e.intake.envs[0].Attachments
	if len(atts) != 2 {
		t.Fatalf("attachments %+v", atts)
	}
	for _, a := range atts {
		if a.Path == "" || strings.Contains(a.Path, a.Name) || a.Size == 0 {
			t.Fatalf("attachment %+v", a)
		}
		if a.Name == "现场.png" && (a.ContentType != "image/png" || !strings.HasSuffix(a.Path, ".png")) {
			t.Fatalf("png %+v", a)
		}
	}
	if n := len(listFiles(t, e.dir)); n != 2 {
		t.Fatalf("%d files on disk", n)
	}

	// HTML disguised as an image is refused, the form shown again, nothing kept.
	ck, v = e.openForm(t, "/submit")
	v.Set("content", "再看这个")
	w = e.do(multipartPost(t, ck, v, map[string][]byte{"photo.jpg": []byte("<html><script>alert(1)</script></html>")}))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "附件类型不支持") || !strings.Contains(w.Body.String(), "再看这个") {
		t.Fatalf("html upload: %d %s", w.Code, w.Body)
	}
	ck, v = e.openForm(t, "/submit")
	v.Set("content", "三个附件")
	w = e.do(multipartPost(t, ck, v, map[string][]byte{"a.png": pngBytes, "b.png": pngBytes, "c.png": pngBytes}))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "附件最多2个") {
		t.Fatalf("too many: %d", w.Code)
	}
	ck, v = e.openForm(t, "/submit")
	v.Set("content", "大附件")
	w = e.do(multipartPost(t, ck, v, map[string][]byte{"big.txt": bytes.Repeat([]byte("a"), 1<<20+1)}))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "附件太大") {
		t.Fatalf("too large: %d", w.Code)
	}
	if n := len(listFiles(t, e.dir)); n != 2 || e.intake.count() != 1 {
		t.Fatalf("%d files on disk, %d ingested", n, e.intake.count())
	}
	// A failed ingest leaves no file behind.
	e.intake.err = fmt.Errorf("db down")
	ck, v = e.openForm(t, "/submit")
	v.Set("content", "存不进去")
	if w = e.do(multipartPost(t, ck, v, map[string][]byte{"a.png": pngBytes})); w.Code != 503 {
		t.Fatalf("store down: %d", w.Code)
	}
	if n := len(listFiles(t, e.dir)); n != 2 {
		t.Fatalf("%d files after failed ingest", n)
	}
}
