package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"hotline/auth"
	"hotline/configs"
	"hotline/normalize"
	"hotline/pipeline"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

var loc, _ = time.LoadLocation("Asia/Shanghai")

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

// env is a store with the built-in units, one user per role (two unit users of
// different units and one of a co-unit) and the pipeline service.
type env struct {
	t      *testing.T
	ctx    context.Context
	st     *store.Store
	svc    *pipeline.Service
	cfg    *configs.Config
	users  map[string]pipeline.Actor // by role; "unit" main unit, "unit2" another unit, "unit_co" a co-unit
	unitA  store.UnitView            // main unit
	unitB  store.UnitView            // another unit
	unitC  store.UnitView            // co-unit
	seq    atomic.Int64
	queued int
}

func newEnv(t *testing.T, s *store.Store) *env {
	t.Helper()
	cfg, err := configs.Load("")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), st: s, cfg: cfg, users: map[string]pipeline.Actor{}}
	if _, err := pipeline.EnsureUnits(e.ctx, s, cfg.Pipeline.BuiltinUnits()); err != nil {
		t.Fatal(err)
	}
	e.svc, err = pipeline.FromConfig(s, cfg, func() { e.queued++ }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.unitA = e.unit("市城市管理局")
	e.unitB = e.unit("市住房和城乡建设局")
	e.unitC = e.unit("德城区新湖街道")
	for _, r := range auth.Roles {
		if r.Key == auth.RoleUnit {
			continue
		}
		e.users[r.Key] = e.user(r.Key, r.Key, nil)
	}
	e.users["unit"] = e.user("unit_a", auth.RoleUnit, &e.unitA.ID)
	e.users["unit2"] = e.user("unit_b", auth.RoleUnit, &e.unitB.ID)
	e.users["unit_co"] = e.user("unit_c", auth.RoleUnit, &e.unitC.ID)
	e.users[pipeline.RoleSystem] = pipeline.System
	return e
}

func (e *env) unit(name string) store.UnitView {
	u, err := e.st.FindUnit(e.ctx, name)
	if err != nil {
		e.t.Fatalf("unit %s: %v", name, err)
	}
	return u
}

func (e *env) user(name, role string, unit *int64) pipeline.Actor {
	u, err := e.st.CreateUser(e.ctx, name, name, role, "x", unit)
	if err != nil {
		e.t.Fatal(err)
	}
	return pipeline.ActorOf(u)
}

// newTicket stores a ticket of channel ch from phone with the text.
func (e *env) newTicket(ch normalize.Channel, phone, text string) string {
	e.t.Helper()
	n := e.seq.Add(1)
	env := normalize.Envelope{Channel: ch, DedupKey: fmt.Sprintf("k%d-%d", time.Now().UnixNano(), n), Text: text,
		Sender: normalize.Sender{Name: "张先生", Phone: phone}, ReceivedAt: time.Now(), Meta: map[string]string{"call_id": fmt.Sprintf("c%d", n)}}
	r, err := e.st.Ingest(e.ctx, env, store.IngestOptions{Actor: "test"}, func(*ticket.Thread) ticket.Decision {
		return ticket.Decision{Classification: ticket.Classification{Nature: ticket.Help, Category: "城建环保"}}
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.TicketNo
}

// do takes an action and fails the test on error.
func (e *env) do(no string, a pipeline.Action, who string, in pipeline.Input) pipeline.Result {
	e.t.Helper()
	r, err := e.svc.Transition(e.ctx, no, a, e.users[who], in)
	if err != nil {
		e.t.Fatalf("%s %s by %s: %v", no, a, who, err)
	}
	return r
}

// refused takes an action that must fail and returns the error.
func (e *env) refused(no string, a pipeline.Action, who string, in pipeline.Input) error {
	e.t.Helper()
	_, err := e.svc.Transition(e.ctx, no, a, e.users[who], in)
	if err == nil {
		e.t.Fatalf("%s %s by %s: allowed, want refused", no, a, who)
	}
	return err
}

func (e *env) status(no string) ticket.Status {
	e.t.Helper()
	tk, err := e.st.GetTicket(e.ctx, no)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk.Status
}

func (e *env) ticket(no string) ticket.Ticket {
	e.t.Helper()
	tk, err := e.st.GetTicket(e.ctx, no)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk
}

func (e *env) flow(no string) store.FlowView {
	e.t.Helper()
	f, err := e.st.GetFlow(e.ctx, no)
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

var goodReply = "经现场核实，反映的路灯损坏问题属实。市路灯管理所已于11月28日更换灯具，现已恢复照明；今后将每周巡查一次，发现问题2日内修复。"

// walk brings a new ticket of channel ch to status s by the standard's roles.
// Options: "co" dispatches with the co-unit too; "ext2" leaves a second
// extension pending; "failed" records one failed follow-up contact.
func (e *env) walk(ch normalize.Channel, s ticket.Status, opts ...string) string {
	e.t.Helper()
	has := func(o string) bool {
		for _, x := range opts {
			if x == o {
				return true
			}
		}
		return false
	}
	no := e.newTicket(ch, "13800138000", "小区门口路灯坏了一个月了，晚上很黑")
	if s == ticket.StatusIntake {
		return no
	}
	if s == ticket.StatusEscalated {
		e.do(no, pipeline.ActEscalate, auth.RoleIntake, pipeline.Input{Text: "多名市民反映同一问题"})
		return no
	}
	if s == ticket.StatusDiscarded {
		e.do(no, pipeline.ActDiscard, auth.RoleIntake, pipeline.Input{Note: "空白"})
		return no
	}
	tr := pipeline.Input{UnitID: e.unitA.ID}
	if has("co") {
		tr.CoUnitIDs = []int64{e.unitC.ID}
	}
	e.do(no, pipeline.ActTransfer, auth.RoleIntake, tr)
	if s == ticket.StatusTransferReview {
		return no
	}
	e.do(no, pipeline.ActDispatch, auth.RoleTransfer, pipeline.Input{})
	if s == ticket.StatusDispatched {
		return no
	}
	if s == ticket.StatusUnitReturned {
		e.do(no, pipeline.ActReturn, "unit", pipeline.Input{Reason: "不属于本单位职责"})
		return no
	}
	e.do(no, pipeline.ActAccept, "unit", pipeline.Input{})
	if s == ticket.StatusHandling {
		return no
	}
	if s == ticket.StatusExtensionRequested {
		if has("ext2") {
			e.do(no, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 3, Reason: "需协调多个部门"})
			e.do(no, pipeline.ActApproveExtension, auth.RoleTransfer, pipeline.Input{})
		}
		e.do(no, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 5, Reason: "需等待材料到货"})
		return no
	}
	e.do(no, pipeline.ActReply, "unit", pipeline.Input{Text: goodReply})
	if s == ticket.StatusReplied {
		if has("failed") {
			e.do(no, pipeline.ActContactFailed, auth.RoleFollowUp, pipeline.Input{})
		}
		return no
	}
	if s == ticket.StatusSupervising {
		e.do(no, pipeline.ActFollowUp, auth.RoleFollowUp, pipeline.Input{ResultRate: pipeline.RatingUnsatisfied, Reasonable: "yes"})
		return no
	}
	e.do(no, pipeline.ActFollowUp, auth.RoleFollowUp, pipeline.Input{ResultRate: pipeline.RatingSatisfied, ServiceRate: pipeline.RatingSatisfied})
	if s == ticket.StatusClosed {
		return no
	}
	e.do(no, pipeline.ActArchive, auth.RoleSupervisor, pipeline.Input{})
	if s == ticket.StatusArchived {
		return no
	}
	e.t.Fatalf("walk: cannot reach %s", s)
	return ""
}

func isConflict(err error) bool  { return errors.Is(err, ticket.ErrConflict) }
func isForbidden(err error) bool { return errors.Is(err, ticket.ErrForbidden) }

func each(t *testing.T, f func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, s *store.Store) { f(t, newEnv(t, s)) })
}

var _ = bytes.NewReader
