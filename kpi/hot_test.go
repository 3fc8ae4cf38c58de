package kpi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"hotline/kpi"
	"hotline/store"
)

// TestHotSpike: a day of ordinary matters, then an hour in which a rumour
// (iodised salt against radiation) brings 60 messages: the keyword and its
// category are flagged; ordinary words are not.
func TestHotSpike(t *testing.T) {
	now := lt(2026, 3, 17, 11, 0, 0)
	ordinary := []string{"小区路灯不亮了", "楼下垃圾没人清理", "咨询养老保险缴费", "小区停水了什么时候恢复", "公交车改线了怎么坐"}
	cats := []string{"城建环保", "城建环保", "劳动人事", "城建环保", "工业交通"}
	var rows []store.HotRow
	n := 0
	add := func(at time.Time, cat, text string) {
		n++
		rows = append(rows, store.HotRow{No: fmt.Sprintf("20260317-%06d", n), Category: cat, Content: text, CreatedAt: at})
	}
	for h := 25; h >= 2; h-- { // baseline: 10 ordinary tickets an hour
		for i := 0; i < 10; i++ {
			add(now.Add(-time.Duration(h)*time.Hour+time.Duration(i)*time.Minute), cats[i%5], ordinary[i%5])
		}
	}
	for i := 0; i < 10; i++ {
		add(now.Add(-50*time.Minute+time.Duration(i)*time.Minute), cats[i%5], ordinary[i%5])
	}
	for i := 0; i < 60; i++ {
		add(now.Add(-40*time.Minute+time.Duration(i)*20*time.Second), "科教文卫", fmt.Sprintf("听说吃碘盐能防辐射，超市碘盐都卖光了%d", i))
	}
	rep := kpi.DetectHot(rows, now, kpi.HotOptions{Window: time.Hour, Baseline: 24, MinCount: 20, Factor: 3})
	if rep.Tickets != 70 || rep.Baseline != 240 {
		t.Fatalf("window %d, baseline %d", rep.Tickets, rep.Baseline)
	}
	found := map[string]kpi.Spike{}
	for _, s := range rep.Spikes {
		found[s.Kind+":"+s.Term] = s
	}
	if s, ok := found["category:科教文卫"]; !ok || s.Count != 60 {
		t.Errorf("category spike missing: %+v", rep.Spikes)
	}
	hit := false
	for k, s := range found {
		if s.Kind == "keyword" && strings.Contains(s.Term, "碘盐") {
			hit = true
		}
		if k == "keyword:小区" || k == "category:城建环保" {
			t.Errorf("ordinary term flagged: %+v", s)
		}
	}
	if !hit {
		t.Errorf("碘盐 not flagged: %+v", rep.Spikes)
	}
	for _, s := range rep.Spikes {
		t.Logf("%s %s %d ratio %.1f", s.Kind, s.Term, s.Count, s.Ratio)
	}
	if len(rep.Spikes) > 11 {
		t.Errorf("%d spikes: noisy", len(rep.Spikes))
	}
	quiet := kpi.DetectHot(rows[:250], now.Add(-40*time.Minute), kpi.HotOptions{})
	if len(quiet.Spikes) != 0 {
		t.Errorf("spikes in an ordinary hour: %+v", quiet.Spikes)
	}
}
