package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/normalize"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

func wx(key, openid, text string) normalize.Envelope {
	return normalize.Envelope{Channel: normalize.WeChat, DedupKey: key, Sender: normalize.Sender{OpenID: openid},
		Text: text, ReceivedAt: time.Now(), Raw: []byte("<xml/>"), Meta: map[string]string{"passive_reply": "1"}}
}

func wxOpts(openid string) store.IngestOptions {
	return store.IngestOptions{Actor: store.WeChatActor(openid), PassiveReplies: true}
}

func thanks(*ticket.Thread) ticket.Decision {
	return ticket.Decision{Classification: ticket.Classification{Nature: ticket.Help}, Status: ticket.StatusClosed,
		Replies: []ticket.Reply{{Kind: ticket.ReplyThanks, Text: "您好！您的留言已收到，感谢。"}}}
}

func TestPassiveRepliesAreRecordedNotQueued(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r, err := s.Ingest(ctx, wx("msg:1", "oA", "谢谢你们"), wxOpts("oA"), thanks)
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := s.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil || len(jobs) != 0 {
			t.Fatalf("outbox has %d items (%v): a passive reply must not be sent again", len(jobs), err)
		}
		tk, err := s.GetTicket(ctx, r.TicketNo)
		if err != nil {
			t.Fatal(err)
		}
		if len(tk.Messages) != 2 {
			t.Fatalf("messages %+v", tk.Messages)
		}
		out := tk.Messages[1]
		if out.Direction != "out" || out.Kind != ticket.ReplyThanks || out.Delivery != ticket.DeliverySent || out.Text != "您好！您的留言已收到，感谢。" {
			t.Fatalf("reply message %+v", out)
		}
		// A redelivery finds the same answer through the inbound message.
		again, err := s.Ingest(ctx, wx("msg:1", "oA", "谢谢你们"), wxOpts("oA"), thanks)
		if err != nil || !again.Duplicate || again.MessageID != r.MessageID {
			t.Fatalf("redelivery %+v %v", again, err)
		}
		if got, err := s.PassiveReply(ctx, again.MessageID); err != nil || got != "您好！您的留言已收到，感谢。" {
			t.Fatalf("PassiveReply = %q, %v", got, err)
		}
		r2, err := s.Ingest(ctx, wx("msg:2", "oA", "路灯坏了"), wxOpts("oA"), keep)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.PassiveReply(ctx, r2.MessageID); err != nil || got != "" {
			t.Fatalf("no reply decided: PassiveReply = %q, %v", got, err)
		}
		// Without the option the same decision goes through the outbox.
		if _, err := s.Ingest(ctx, wx("msg:3", "oB", "谢谢"), store.IngestOptions{}, thanks); err != nil {
			t.Fatal(err)
		}
		jobs, _ = s.ClaimOutbox(ctx, 10, time.Minute)
		if len(jobs) != 1 || jobs[0].Kind != ticket.ViaWeChat || jobs[0].Recipient != "oB" {
			t.Fatalf("queued %+v", jobs)
		}
	})
}

func TestStatusByOpenID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		open, err := s.Ingest(ctx, wx("msg:10", "oOwner", "路灯坏了"), wxOpts("oOwner"), keep)
		if err != nil {
			t.Fatal(err)
		}
		secret := wx("msg:11", "oOwner", "举报某单位违规收费")
		secret.Confidential = true
		conf, err := s.Ingest(ctx, secret, wxOpts("oOwner"), keep)
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.LatestTicketForOpenID(ctx, "oOwner")
		if err != nil || st.TicketNo != conf.TicketNo {
			t.Fatalf("latest = %+v, %v; want %s", st, err, conf.TicketNo)
		}
		if _, err := s.Reply(ctx, open.TicketNo, "agent1", ticket.Reply{Kind: ticket.ReplyAgent, Text: "已安排维修"}); err != nil {
			t.Fatal(err)
		}
		st, err = s.TicketStatusForOpenID(ctx, "oOwner", open.TicketNo)
		if err != nil || st.Status != ticket.StatusIntake || st.Result != "已安排维修" {
			t.Fatalf("status = %+v, %v", st, err)
		}
		for _, no := range []string{open.TicketNo, conf.TicketNo, "20990101-000001"} {
			if _, err := s.TicketStatusForOpenID(ctx, "oStranger", no); !errors.Is(err, ticket.ErrNotFound) {
				t.Fatalf("stranger sees %s: %v", no, err)
			}
		}
		if _, err := s.LatestTicketForOpenID(ctx, "oStranger"); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("stranger latest: %v", err)
		}
	})
}

func TestPhoneBinding(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const phone = "13800138000"
		// The phone's history: an SMS ticket and a confidential one.
		smsOpen, err := s.Ingest(ctx, sms("s1", phone, "噪音扰民"), store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		secret := sms("s2", phone, "举报")
		secret.Confidential = true
		smsConf, err := s.Ingest(ctx, secret, store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		// The WeChat user's own ticket.
		own, err := s.Ingest(ctx, wx("msg:20", "oCitizen", "井盖丢了"), wxOpts("oCitizen"), keep)
		if err != nil {
			t.Fatal(err)
		}

		// A claim alone changes nothing: no phone, no access.
		out, err := s.RequestPhoneBinding(ctx, "oCitizen", phone, "123456", "验证码：123456")
		if err != nil || out != store.BindCodeSent {
			t.Fatalf("request = %q, %v", out, err)
		}
		jobs, err := s.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil || len(jobs) != 1 || jobs[0].Kind != ticket.ViaSMS || jobs[0].Recipient != phone || !strings.Contains(jobs[0].Payload, "验证码：123456") {
			t.Fatalf("code SMS %+v %v", jobs, err)
		}
		if err := s.OutboxSent(ctx, jobs[0]); err != nil {
			t.Fatal(err)
		}
		if out, _ := s.RequestPhoneBinding(ctx, "oCitizen", phone, "654321", "验证码：654321"); out != store.BindTooSoon {
			t.Fatalf("second request within a minute = %q", out)
		}
		if _, err := s.TicketStatusForOpenID(ctx, "oCitizen", smsOpen.TicketNo); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("unverified claim grants access: %v", err)
		}
		if p, _, _ := s.BoundPhone(ctx, "oCitizen"); p != "" {
			t.Fatalf("unverified claim set the phone %q", p)
		}
		if out, _, _ := s.VerifyPhoneBinding(ctx, "oCitizen", "000000"); out != store.BindBadCode {
			t.Fatalf("wrong code = %q", out)
		}
		if out, _, _ := s.VerifyPhoneBinding(ctx, "oSomeoneElse", "123456"); out != store.BindBadCode {
			t.Fatalf("code from another openid = %q", out)
		}
		out, p, err := s.VerifyPhoneBinding(ctx, "oCitizen", "123456")
		if err != nil || out != store.BindVerified || p != phone {
			t.Fatalf("verify = %q %q %v", out, p, err)
		}

		// One contact now has both identities; the WeChat ticket moved to it.
		for _, no := range []string{own.TicketNo, smsOpen.TicketNo} {
			tk, err := s.GetTicket(ctx, no)
			if err != nil {
				t.Fatal(err)
			}
			if tk.Citizen.Phone != phone || tk.Citizen.OpenID != "oCitizen" {
				t.Fatalf("%s citizen %+v", no, tk.Citizen)
			}
		}
		if p, v, err := s.BoundPhone(ctx, "oCitizen"); p != phone || !v || err != nil {
			t.Fatalf("BoundPhone = %q %v %v", p, v, err)
		}
		// Verified: the phone's tickets answer, except the confidential one.
		if _, err := s.TicketStatusForOpenID(ctx, "oCitizen", smsOpen.TicketNo); err != nil {
			t.Fatalf("bound phone's ticket: %v", err)
		}
		if _, err := s.TicketStatusForOpenID(ctx, "oCitizen", smsConf.TicketNo); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("confidential ticket revealed through a binding: %v", err)
		}
		if _, err := s.TicketStatusForOpenID(ctx, "oCitizen", own.TicketNo); err != nil {
			t.Fatalf("own ticket after merge: %v", err)
		}
		// Later messages of both channels land on the merged contact.
		later, err := s.Ingest(ctx, wx("msg:21", "oCitizen", "又丢了一个"), wxOpts("oCitizen"), keep)
		if err != nil {
			t.Fatal(err)
		}
		if tk, _ := s.GetTicket(ctx, later.TicketNo); tk.Citizen.Phone != phone {
			t.Fatalf("later WeChat ticket citizen %+v", tk.Citizen)
		}
		if out, _ := s.RequestPhoneBinding(ctx, "oCitizen", phone, "111111", "x"); out != store.BindAlreadyVerified {
			t.Fatalf("again = %q", out)
		}
		if out, _ := s.RequestPhoneBinding(ctx, "oCitizen", "13900139000", "111111", "x"); out != store.BindOtherPhone {
			t.Fatalf("other phone = %q", out)
		}
		if out, _ := s.RequestPhoneBinding(ctx, "oIntruder", phone, "111111", "x"); out != store.BindPhoneTaken {
			t.Fatalf("someone else's phone = %q", out)
		}
		if out, _ := s.ConfirmPhoneBinding(ctx, "oIntruder", phone, "agent1"); out != store.BindPhoneTaken {
			t.Fatalf("agent confirming a taken phone = %q", out)
		}
	})
}

func TestBindingTriesAndAgentConfirmation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if out, err := s.RequestPhoneBinding(ctx, "oNew", "13700137000", "424242", "验证码：424242"); err != nil || out != store.BindCodeSent {
			t.Fatalf("request = %q %v", out, err)
		}
		for range 5 {
			s.VerifyPhoneBinding(ctx, "oNew", "000000")
		}
		if out, _, _ := s.VerifyPhoneBinding(ctx, "oNew", "424242"); out != store.BindBadCode {
			t.Fatalf("right code after five wrong tries = %q", out)
		}
		// An agent who called the citizen confirms: a contact is made.
		if out, err := s.ConfirmPhoneBinding(ctx, "oNew", "137-0013-7000", "agent1"); err != nil || out != store.BindVerified {
			t.Fatalf("confirm = %q %v", out, err)
		}
		if p, v, _ := s.BoundPhone(ctx, "oNew"); p != "13700137000" || !v {
			t.Fatalf("BoundPhone = %q %v", p, v)
		}
		r, err := s.Ingest(ctx, sms("s9", "13700137000", "咨询社保"), store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		if tk, _ := s.GetTicket(ctx, r.TicketNo); tk.Citizen.OpenID != "oNew" {
			t.Fatalf("SMS from the bound phone: citizen %+v", tk.Citizen)
		}
	})
}

// TestUnbindPhone: undoing a verified binding splits the identities again
// (the phone keeps its history, the WeChat user's own tickets go back to the
// openid), so the binding's access ends; a pending binding is just cancelled.
func TestUnbindPhone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const phone = "13800138000"
		smsT, err := s.Ingest(ctx, sms("s1", phone, "噪音扰民"), store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		wxT, err := s.Ingest(ctx, wx("msg:1", "oCitizen", "井盖丢了"), wxOpts("oCitizen"), keep)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.WeChatBinding(ctx, "oCitizen"); err != nil || v.Status != store.BindingNone || v.Phone != "" {
			t.Fatalf("before: %+v %v", v, err)
		}
		if _, err := s.WeChatBinding(ctx, "oNobody"); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("unknown openid: %v", err)
		}
		if out, _ := s.RequestPhoneBinding(ctx, "oCitizen", phone, "123456", "x"); out != store.BindCodeSent {
			t.Fatalf("request %q", out)
		}
		if v, _ := s.WeChatBinding(ctx, "oCitizen"); v.Status != store.BindingPending || v.Phone != phone || v.CodeSentAt == nil {
			t.Fatalf("pending: %+v", v)
		}
		if out, _, _ := s.VerifyPhoneBinding(ctx, "oCitizen", "123456"); out != store.BindVerified {
			t.Fatalf("verify %q", out)
		}
		if v, _ := s.WeChatBinding(ctx, "oCitizen"); v.Status != store.BindingVerified || v.Phone != phone || v.VerifiedBy != store.WeChatActor("oCitizen") {
			t.Fatalf("verified: %+v", v)
		}
		wxT2, err := s.Ingest(ctx, wx("msg:2", "oCitizen", "又丢了一个"), wxOpts("oCitizen"), keep)
		if err != nil {
			t.Fatal(err)
		}

		got, err := s.UnbindPhone(ctx, "oCitizen", "agent1")
		if err != nil || got != phone {
			t.Fatalf("unbind = %q %v", got, err)
		}
		if v, _ := s.WeChatBinding(ctx, "oCitizen"); v.Status != store.BindingNone || v.Phone != "" {
			t.Fatalf("after: %+v", v)
		}
		if p, v, _ := s.BoundPhone(ctx, "oCitizen"); p != "" || v {
			t.Fatalf("BoundPhone after unbind = %q %v", p, v)
		}
		if tk, _ := s.GetTicket(ctx, smsT.TicketNo); tk.Citizen.Phone != phone || tk.Citizen.OpenID != "" {
			t.Fatalf("phone's ticket citizen %+v", tk.Citizen)
		}
		for _, no := range []string{wxT.TicketNo, wxT2.TicketNo} {
			tk, _ := s.GetTicket(ctx, no)
			split := false
			for _, e := range tk.Events {
				split = split || (e.Type == store.EventContactSplit && e.Actor == "agent1")
			}
			if tk.Citizen.OpenID != "oCitizen" || tk.Citizen.Phone != "" || !split {
				t.Fatalf("%s citizen %+v events %+v", no, tk.Citizen, tk.Events)
			}
			if _, err := s.TicketStatusForOpenID(ctx, "oCitizen", no); err != nil {
				t.Fatalf("own ticket %s after unbind: %v", no, err)
			}
		}
		if _, err := s.TicketStatusForOpenID(ctx, "oCitizen", smsT.TicketNo); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("the phone's ticket still answers: %v", err)
		}
		// New messages of each identity land on its own contact.
		later, _ := s.Ingest(ctx, sms("s2", phone, "还是很吵"), store.IngestOptions{}, keep)
		if tk, _ := s.GetTicket(ctx, later.TicketNo); tk.Citizen.OpenID != "" {
			t.Fatalf("SMS after unbind: %+v", tk.Citizen)
		}
		if _, err := s.UnbindPhone(ctx, "oCitizen", "agent1"); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("second unbind: %v", err)
		}
		// Bound again by an agent: merged again.
		if out, err := s.ConfirmPhoneBinding(ctx, "oCitizen", phone, "agent2"); err != nil || out != store.BindVerified {
			t.Fatalf("rebind %q %v", out, err)
		}
		if tk, _ := s.GetTicket(ctx, wxT.TicketNo); tk.Citizen.Phone != phone {
			t.Fatalf("rebound citizen %+v", tk.Citizen)
		}

		// A pending binding is cancelled; nothing else changes.
		if out, _ := s.RequestPhoneBinding(ctx, "oOther", "13900139000", "654321", "x"); out != store.BindCodeSent {
			t.Fatalf("request %q", out)
		}
		if got, err := s.UnbindPhone(ctx, "oOther", "agent1"); err != nil || got != "13900139000" {
			t.Fatalf("cancel = %q %v", got, err)
		}
		if out, _, _ := s.VerifyPhoneBinding(ctx, "oOther", "654321"); out != store.BindBadCode {
			t.Fatalf("code of a cancelled binding = %q", out)
		}
		if _, err := s.UnbindPhone(ctx, "oNobody", "agent1"); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
	})
}
