package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"hotline/normalize"
	"hotline/store"
	"hotline/store/storetest"
)

func storeFilter(ch normalize.Channel) store.TicketFilter {
	return store.TicketFilter{Channel: string(ch)}
}

var (
	csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	formRE = regexp.MustCompile(`name="form_id" value="([^"]+)"`)
	codeRE = regexp.MustCompile(`class="big code">([A-Z0-9]+)<`)
	noRE   = regexp.MustCompile(`<dd class="big">(\d{8}-\d+)</dd>`)
)

func TestWebsiteEndToEnd(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			e := startMailApp(t, driver)
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			resp, err := c.Get(e.base + "/submit")
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			csrf, form := csrfRE.FindSubmatch(page), formRE.FindSubmatch(page)
			if resp.StatusCode != 200 || csrf == nil || form == nil {
				t.Fatalf("form page %d", resp.StatusCode)
			}
			v := url.Values{"csrf_token": {string(csrf[1])}, "form_id": {string(form[1])}, "channel": {"website"},
				"name": {"王五"}, "phone": {"13800138000"}, "content": {"德城区某小区门口路灯坏了一个月"}, "reply_wanted": {"1"}}
			resp, err = c.PostForm(e.base+"/api/v1/submissions", v)
			if err != nil {
				t.Fatal(err)
			}
			page, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			code, no := codeRE.FindSubmatch(page), noRE.FindSubmatch(page)
			if resp.StatusCode != 200 || code == nil || no == nil {
				t.Fatalf("receipt %d %s", resp.StatusCode, page)
			}
			if st, out := e.status(t, string(no[1]), string(code[1])); st != 200 || out["channel"] != "website" {
				t.Fatalf("status %d %v", st, out)
			}
			// JSON, as integrators send it
			r, err := http.Post(e.base+"/api/v1/submissions", "application/json",
				strings.NewReader(`{"channel":"mayor_mailbox","name":"赵六","email":"z@example.com","content":"建议增开夜班公交","reply_wanted":true}`))
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				TicketNo  string `json:"ticket_no"`
				QueryCode string `json:"query_code"`
			}
			json.NewDecoder(r.Body).Decode(&out)
			r.Body.Close()
			if r.StatusCode != 201 || out.TicketNo == "" || out.QueryCode == "" {
				t.Fatalf("json %d %+v", r.StatusCode, out)
			}
			if st, got := e.status(t, out.TicketNo, strings.ToLower(out.QueryCode)); st != 200 || got["channel"] != "mayor_mailbox" {
				t.Fatalf("status %d %v", st, got)
			}
			// a form post without the token is refused
			resp, _ = http.PostForm(e.base+"/api/v1/submissions", url.Values{"content": {"x"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("csrf: %d", resp.StatusCode)
			}
		})
	}
}
