package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"hotline/api"
	"hotline/auth"
	"hotline/store/storetest"
	"hotline/ticket"
)

// login creates a user of role (with unit) and signs in.
func (e *env) login(name, role string, unit *int64) string {
	e.t.Helper()
	hash, _ := auth.Hash("password-123", 4)
	if _, err := e.app.Store.CreateUser(context.Background(), name, name, role, hash, unit); err != nil {
		e.t.Fatal(err)
	}
	var r struct{ Token string }
	e.do("POST", "/api/v1/auth/login", "", fmt.Sprintf(`{"username":%q,"password":"password-123"}`, name), 200, &r)
	return r.Token
}

func (e *env) unitID(name string) int64 {
	e.t.Helper()
	u, err := e.app.Store.FindUnit(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

// TestPipelineAPI walks an SMS ticket through the loop over HTTP by the right
// roles only: the refusals carry the allowed actions; the unit sees only its
// own tickets; template 2 reaches the SMS gateway.
func TestPipelineAPI(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			e := start(t, d)
			cg := e.unitID("市城市管理局")
			zj := e.unitID("市住房和城乡建设局")
			intake := e.login("agent1", auth.RoleIntake, nil)
			clerk := e.login("clerk1", auth.RoleTransfer, nil)
			follow := e.login("follow1", auth.RoleFollowUp, nil)
			unit := e.login("cg1", auth.RoleUnit, &cg)
			other := e.login("zj1", auth.RoleUnit, &zj)

			e.do("POST", "/channels/sms/aliyun?token="+smsToken, "", aliyun("7001", "13800138111", "解放北路路灯坏了一个月了，晚上很黑，请尽快修理"), 200, nil)
			ts := e.tickets("phone=13800138111")
			if len(ts) != 1 || ts[0].Status != ticket.StatusIntake {
				t.Fatalf("intake: %+v", ts)
			}
			no := ts[0].No
			act := func(tok, action, body string, want int) map[string]any {
				t.Helper()
				var out map[string]any
				e.do("POST", "/api/v1/tickets/"+no+"/actions/"+action, tok, body, want, &out)
				return out
			}
			// The clerk cannot transfer from intake: 403 with what the clerk may do (nothing).
			r := act(clerk, "dispatch", `{}`, 409)
			if r["error"].(map[string]any)["code"] != "transition_not_allowed" || r["status"] != "intake" {
				t.Fatalf("409 body %v", r)
			}
			r = act(clerk, "transfer", fmt.Sprintf(`{"unit_id":%d}`, cg), 403)
			if r["error"].(map[string]any)["code"] != "role_not_allowed" || len(r["allowed"].([]any)) != 0 {
				t.Fatalf("403 body %v", r)
			}
			var allowed struct{ Allowed []string }
			e.do("GET", "/api/v1/tickets/"+no+"/actions", intake, "", 200, &allowed)
			if strings.Join(allowed.Allowed, ",") != "answer,transfer,escalate,discard" {
				t.Fatalf("intake agent may %v", allowed.Allowed)
			}
			act(intake, "transfer", fmt.Sprintf(`{"unit_id":%d,"note":"路灯"}`, cg), 200)
			act(intake, "dispatch", `{}`, 403)
			var q struct{ Tickets []map[string]any }
			e.do("GET", "/api/v1/queues/transfer", clerk, "", 200, &q)
			if len(q.Tickets) != 1 || q.Tickets[0]["ticket_no"] != no {
				t.Fatalf("transfer queue %v", q.Tickets)
			}
			r = act(clerk, "dispatch", `{}`, 200)
			if r["to"] != "dispatched" || r["ticket"].(map[string]any)["unit"] != "市城市管理局" {
				t.Fatalf("dispatch %v", r)
			}
			eventually(t, "template 2 delivered", func() bool {
				for _, s := range e.gw.texts("13800138111") {
					if s == "您好，您的短信已收到，已转市城市管理局处理，请耐心等待。" {
						return true
					}
				}
				return false
			})
			// Units see their own tickets only.
			e.do("GET", "/api/v1/tickets/"+no, other, "", 404, nil)
			act(other, "accept", `{}`, 404)
			e.do("GET", "/api/v1/queues/unit", unit, "", 200, &q)
			if len(q.Tickets) != 1 || q.Tickets[0]["ticket_no"] != no {
				t.Fatalf("unit queue %v", q.Tickets)
			}
			e.do("GET", "/api/v1/queues/transfer", unit, "", 403, nil)
			var mine struct{ Tickets []ticket.Ticket }
			e.do("GET", "/api/v1/tickets", unit, "", 200, &mine)
			if len(mine.Tickets) != 1 || mine.Tickets[0].No != no {
				t.Fatalf("unit's ticket list %+v", mine.Tickets)
			}
			e.do("GET", "/api/v1/tickets", other, "", 200, &mine)
			if len(mine.Tickets) != 0 {
				t.Fatalf("another unit sees %+v", mine.Tickets)
			}
			act(unit, "accept", `{}`, 200)
			act(unit, "request_extension", `{"days":9,"reason":"x"}`, 422)
			e.do("POST", "/api/v1/tickets/"+no+"/actions/accept", unit, `{"bogus":1}`, 400, nil)
			e.do("POST", "/api/v1/tickets/"+no+"/actions/fly", unit, `{}`, 404, nil)
			r = act(unit, "reply", `{"text":"正在协调处理中"}`, 422)
			if r["error"].(map[string]any)["code"] != "reply_refused" || len(r["reasons"].([]any)) == 0 {
				t.Fatalf("vague reply %v", r)
			}
			act(unit, "reply", `{"text":"经现场核实，路灯线路老化属实，已于今日更换电缆并恢复照明，今后每周巡查一次。"}`, 200)
			r = act(follow, "followup", `{"result_rating":"satisfied","service_rating":"satisfied","unit_replied":true}`, 200)
			if r["to"] != "closed" {
				t.Fatalf("follow-up %v", r)
			}
			tk := e.ticket(no)
			var moves []string
			for _, ev := range tk.Events {
				if ev.From != ev.To && ev.To != "" && ev.From != "" {
					moves = append(moves, ev.Actor+":"+ev.To)
				}
			}
			if got := strings.Join(moves, " "); got != "agent1:transfer_review clerk1:dispatched cg1:handling cg1:replied follow1:closed" {
				t.Fatalf("audit trail %s", got)
			}
			// Archive export and KPIs of today.
			act(e.token, "archive", `{}`, 200)
			act(e.token, "close", `{"note":"x"}`, 409)
			var exp map[string]any
			e.do("GET", "/api/v1/tickets/"+no+"/archive", e.token, "", 200, &exp)
			if exp["ticket"].(map[string]any)["status"] != "archived" || len(exp["orders"].([]any)) != 1 {
				t.Fatalf("archive export %v", exp)
			}
			today := time.Now().In(e.app.Cfg.City.Location()).Format(time.DateOnly)
			raw := e.do("GET", "/api/v1/kpis?from="+today+"&to="+today, e.token, "", 200, nil)
			if !bytes.HasPrefix(raw, []byte(`{"from":"`+today+`","to":"`+today+`","unit":null,"kpis":[{"id":1,"key":"answer_rate","name":"人工接通率","numerator":`)) {
				t.Fatalf("kpi JSON %s", raw)
			}
			var rep struct {
				KPIs []struct {
					Key              string
					Numerator, Denom int64
					Value            *float64
					Met              bool
				}
			}
			json.Unmarshal(raw, &rep)
			if len(rep.KPIs) != 11 || rep.KPIs[5].Key != "transfer_on_time_rate" || rep.KPIs[5].Value == nil || *rep.KPIs[5].Value != 1 {
				t.Fatalf("kpis %s", raw)
			}
			var ur map[string]any
			e.do("GET", "/api/v1/kpis?from="+today+"&to="+today, unit, "", 200, &ur)
			if ur["unit"] != "市城市管理局" {
				t.Fatalf("unit KPIs %v", ur)
			}
			e.do("GET", "/api/v1/kpis?from="+today+"&to=2020-01-01", e.token, "", 400, nil)
			resp, err := http.Get(e.srv.URL + "/api/v1/kpis.xlsx?from=" + today + "&to=" + today)
			if err != nil || resp.StatusCode != 401 {
				t.Fatalf("xlsx without a token: %v %v", resp.StatusCode, err)
			}
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/kpis.xlsx?from="+today+"&to="+today, nil)
			req.Header.Set("Authorization", "Bearer "+e.token)
			resp, err = http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("xlsx: %v %v", resp.StatusCode, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wb, err := excelize.OpenReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if names := strings.Join(wb.GetSheetList(), ","); names != "总体指标,承办单位,每日指标" {
				t.Fatalf("sheets %s", names)
			}
			if v, _ := wb.GetCellValue("总体指标", "B15"); v != "回访及时率" {
				t.Fatalf("row 15 %q", v)
			}
			if v, _ := wb.GetCellValue("承办单位", "A5"); v != "市城市管理局" {
				t.Fatalf("unit row %q", v)
			}
		})
	}
}

// TestOpenAPIDocumentsEveryRoute: every /api/v1 route the server registers is
// in the OpenAPI document served at /api/v1/openapi.json.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := start(t, "sqlite")
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	e.do("GET", "/api/v1/openapi.json", "", "", 200, &doc)
	eng, ok := e.app.Handler.(*gin.Engine)
	if !ok {
		t.Skip("handler is not a gin engine")
	}
	for _, r := range eng.Routes() {
		p, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok || strings.HasPrefix(p, "/submissions") || strings.HasPrefix(p, "/inbox") {
			continue // the citizens' and the inbox's own endpoints
		}
		p = strings.ReplaceAll(p, ":no", "{ticket_no}")
		p = strings.ReplaceAll(p, ":id", "{id}")
		p = strings.ReplaceAll(p, ":queue", "{queue}")
		if strings.Contains(p, ":action") {
			continue // documented once per action
		}
		if doc.Paths[p] == nil || doc.Paths[p][strings.ToLower(r.Method)] == nil {
			t.Errorf("%s %s is not in openapi.json", r.Method, p)
		}
	}
	_ = api.OpenAPISpec
}

// TestPipelineAPIQueuesAndReads covers the read side: units, a co-unit's view
// of a confidential ticket, the unit queue for the centre, alerts, returns per
// month, hot issues and ratings.
func TestPipelineAPIQueuesAndReads(t *testing.T) {
	e := start(t, "sqlite")
	cg := e.unitID("市城市管理局")
	st := e.unitID("德城区新湖街道")
	intake := e.login("agent2", auth.RoleIntake, nil)
	clerk := e.login("clerk2", auth.RoleTransfer, nil)
	co := e.login("street1", auth.RoleUnit, &st)
	unit := e.login("cg2", auth.RoleUnit, &cg)

	var units struct{ Units []map[string]any }
	e.do("GET", "/api/v1/units?q=新湖街道", intake, "", 200, &units)
	if len(units.Units) < 2 {
		t.Fatalf("units %v", units.Units)
	}
	var created ticket.Ticket
	e.do("POST", "/api/v1/tickets", intake, `{"channel":"voice","call_id":"c-77","name":"王女士","phone":"13800138777","content":"反映某饭店油烟扰民","confidential":true}`, 201, &created)
	no := created.No
	e.do("POST", "/api/v1/tickets/"+no+"/actions/transfer", intake, fmt.Sprintf(`{"unit_id":%d,"co_unit_ids":[%d],"urgent":true}`, cg, st), 200, nil)
	e.do("POST", "/api/v1/tickets/"+no+"/actions/dispatch", clerk, `{}`, 200, nil)

	// The co-unit reads the case (without the citizen) and gives its opinion.
	var q struct{ Tickets []map[string]any }
	e.do("GET", fmt.Sprintf("/api/v1/queues/unit?unit=%d", st), e.token, "", 200, &q)
	if len(q.Tickets) != 1 || q.Tickets[0]["order_role"] != "co" || q.Tickets[0]["urgent"] != true {
		t.Fatalf("co-unit queue %v", q.Tickets)
	}
	var fl struct {
		Ticket  ticket.Ticket
		Allowed []string
	}
	e.do("GET", "/api/v1/tickets/"+no+"/flow", co, "", 200, &fl)
	if fl.Ticket.Citizen.Phone != "" || fl.Ticket.Citizen.Name != "（保密）" || strings.Join(fl.Allowed, ",") != "co_opinion" {
		t.Fatalf("co-unit view: %+v allowed %v", fl.Ticket.Citizen, fl.Allowed)
	}
	e.do("POST", "/api/v1/tickets/"+no+"/actions/co_opinion", co, `{"text":"街道已配合执法"}`, 200, nil)
	if e.do("GET", "/api/v1/queues/unit", co, "", 200, &q); len(q.Tickets) != 0 {
		t.Fatalf("co-unit queue after its opinion %v", q.Tickets)
	}
	e.do("GET", "/api/v1/tickets/"+no+"/flow", unit, "", 200, &fl)
	if strings.Join(fl.Allowed, ",") != "accept,return" {
		t.Fatalf("main unit may %v", fl.Allowed)
	}
	e.do("GET", "/api/v1/queues/unit", e.token, "", 400, nil)
	e.do("GET", "/api/v1/queues/nope", e.token, "", 404, nil)

	// Returned: counted for the month; back in the clerk's queue.
	e.do("POST", "/api/v1/tickets/"+no+"/actions/return", unit, `{"reason":"属环保部门职责"}`, 200, nil)
	e.do("GET", "/api/v1/tickets/"+no, unit, "", 404, nil)
	var rc struct{ Units []map[string]any }
	e.do("GET", "/api/v1/units/returns", e.token, "", 200, &rc)
	if len(rc.Units) != 1 || rc.Units[0]["unit_name"] != "市城市管理局" || rc.Units[0]["returns"] != float64(1) {
		t.Fatalf("returns %v", rc.Units)
	}
	e.do("GET", "/api/v1/queues/returned", clerk, "", 200, &q)
	if len(q.Tickets) != 1 {
		t.Fatalf("returned queue %v", q.Tickets)
	}
	e.do("GET", "/api/v1/units/returns", unit, "", 403, nil)

	// Ratings, alerts, hot issues, the table.
	e.do("POST", "/api/v1/ratings", intake, `{"call_id":"c-77","rating":"satisfied"}`, 201, nil)
	e.do("POST", "/api/v1/ratings", intake, `{"call_id":"c-77","rating":"great"}`, 400, nil)
	var al struct{ Alerts []map[string]any }
	e.do("GET", "/api/v1/alerts", e.token, "", 200, &al)
	var hot struct{ Spikes []any }
	e.do("GET", "/api/v1/hot?window=30m", e.token, "", 200, &hot)
	if hot.Spikes == nil {
		t.Fatal("spikes must be a list")
	}
	e.do("GET", "/api/v1/hot?window=1s", e.token, "", 400, nil)
	var tbl struct {
		Rules   []map[string]any
		Mermaid string
	}
	e.do("GET", "/api/v1/pipeline", unit, "", 200, &tbl)
	if len(tbl.Rules) < 30 || !strings.HasPrefix(tbl.Mermaid, "stateDiagram-v2") {
		t.Fatalf("table %d rules", len(tbl.Rules))
	}
}

// The citizen's SMS answer to the follow-up survey lands on the surveyed ticket
// (no new ticket) and is applied; its redelivery changes nothing.
func TestSMSSurveyAnswerJoinsTicket(t *testing.T) {
	e := start(t, "sqlite")
	cg := e.unitID("市城市管理局")
	intake := e.login("agent1", auth.RoleIntake, nil)
	clerk := e.login("clerk1", auth.RoleTransfer, nil)
	follow := e.login("follow1", auth.RoleFollowUp, nil)
	unit := e.login("cg1", auth.RoleUnit, &cg)
	e.do("POST", "/channels/sms/aliyun?token="+smsToken, "", aliyun("8001", "13800138222", "解放北路路灯坏了一个月了，晚上很黑，请尽快修理"), 200, nil)
	no := e.tickets("phone=13800138222")[0].No
	act := func(tok, action, body string) {
		t.Helper()
		e.do("POST", "/api/v1/tickets/"+no+"/actions/"+action, tok, body, 200, nil)
	}
	act(intake, "transfer", fmt.Sprintf(`{"unit_id":%d}`, cg))
	act(clerk, "dispatch", `{}`)
	act(unit, "accept", `{}`)
	act(unit, "reply", `{"text":"经现场核实，路灯线路老化属实，已于今日更换电缆并恢复照明，今后每周巡查一次。"}`)
	act(follow, "send_survey", `{}`)
	before := e.ticket(no).Status
	answer := aliyun("8002", "13800138222", "1")
	e.do("POST", "/channels/sms/aliyun?token="+smsToken, "", answer, 200, nil)
	e.do("POST", "/channels/sms/aliyun?token="+smsToken, "", answer, 200, nil)
	if ts := e.tickets("phone=13800138222"); len(ts) != 1 {
		t.Fatalf("the survey answer opened a ticket: %d tickets", len(ts))
	}
	tk := e.ticket(no)
	answers := 0
	for _, m := range tk.Messages {
		if m.Direction == "in" && m.Text == "1" {
			answers++
		}
	}
	if tk.Status == before || answers != 1 {
		t.Fatalf("survey answer not applied once: status %s (was %s), %d answers stored", tk.Status, before, answers)
	}
	if strings.Contains(tk.Content, "\n1") {
		t.Fatal("the answer was appended to the ticket's content")
	}
}
