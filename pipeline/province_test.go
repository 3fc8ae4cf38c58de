package pipeline_test

import (
	"encoding/json"
	"testing"
	"time"

	"hotline/auth"
	"hotline/normalize"
	"hotline/pipeline"
	"hotline/store"
	"hotline/ticket"
)

// TestProvinceEvents: a case sent down by the province reports its steps back
// through the outbox, queued in the transitions' own transactions, and the
// province's due date caps the unit's deadline.
func TestProvinceEvents(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		due := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		r, err := e.st.Ingest(e.ctx, normalize.Envelope{Channel: normalize.ProvinceMailbox, DedupKey: "case-77", Text: "反映小区供暖不热",
			Sender: normalize.Sender{Name: "李女士", Phone: "13800138077"}, ReceivedAt: time.Now(),
			Meta: map[string]string{"case_id": "SZ-2026-77", "due_at": due.Format(time.RFC3339)}},
			store.IngestOptions{Actor: "province"}, func(*ticket.Thread) ticket.Decision {
				return ticket.Decision{Classification: ticket.Classification{Nature: ticket.Complaint, Category: "城建环保"}}
			})
		if err != nil {
			t.Fatal(err)
		}
		no := r.TicketNo
		e.do(no, pipeline.ActTransfer, auth.RoleIntake, pipeline.Input{UnitID: e.unitA.ID})
		e.do(no, pipeline.ActDispatch, auth.RoleTransfer, pipeline.Input{})
		if f := e.flow(no); f.Flow.ProvinceDueAt == nil || !f.Flow.ReplyDueAt.Equal(due) || !f.Flow.ProvinceDueAt.Equal(due) {
			t.Fatalf("province due not applied: reply due %v, province due %v, want %v", f.Flow.ReplyDueAt, f.Flow.ProvinceDueAt, due)
		}
		e.do(no, pipeline.ActAccept, "unit", pipeline.Input{})
		e.do(no, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 2, Reason: "需入户检测"})
		e.do(no, pipeline.ActApproveExtension, auth.RoleTransfer, pipeline.Input{})
		e.do(no, pipeline.ActReply, "unit", pipeline.Input{Text: goodReply})
		e.do(no, pipeline.ActFollowUp, auth.RoleFollowUp, pipeline.Input{ResultRate: pipeline.RatingSatisfied})
		var items []store.OutboxItem
		if err := e.st.DB().Where("ticket_id = ? AND kind = ?", r.TicketID, ticket.ViaProvince).Order("id").Find(&items).Error; err != nil {
			t.Fatal(err)
		}
		var events []string
		for _, it := range items {
			var p struct{ Event, Unit string }
			json.Unmarshal([]byte(it.Payload), &p)
			events = append(events, p.Event)
		}
		want := []string{"accepted", "transferred", "extension_requested", "extended", "replied", "closed"}
		if len(events) != len(want) {
			t.Fatalf("province events %v, want %v", events, want)
		}
		for i := range want {
			if events[i] != want[i] {
				t.Fatalf("province events %v, want %v", events, want)
			}
		}
	})
}
