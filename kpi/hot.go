package kpi

import (
	"context"
	"slices"
	"sort"
	"time"
	"unicode"

	"hotline/store"
)

// HotOptions tune the detection of hot issues (热点): a category or a keyword
// is hot when at least MinCount tickets of the last Window mention it and its
// share of the window's tickets is at least Factor times its share over the
// Baseline windows before.
type HotOptions struct {
	Window   time.Duration
	Baseline int
	MinCount int
	Factor   float64
}

// Spike is one hot category or keyword, a candidate for a 呈阅件 (呈报).
type Spike struct {
	Kind          string   `json:"kind"` // category | keyword
	Term          string   `json:"term"`
	Count         int      `json:"count"`
	Share         float64  `json:"share"`
	BaselineCount int      `json:"baseline_count"`
	BaselineShare float64  `json:"baseline_share"`
	Ratio         float64  `json:"ratio"`
	Terms         []string `json:"terms,omitempty"` // keyword: the spiking pieces of the phrase
	Tickets       []string `json:"tickets"`         // up to 20 examples, newest first
}

type tally struct {
	win, base int
	nos       []string
}

func (t *tally) get() []string { return t.nos }

// HotReport is the detection over one window.
type HotReport struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Tickets  int       `json:"tickets"`
	Baseline int       `json:"baseline_tickets"`
	Spikes   []Spike   `json:"spikes"`
}

// Hot detects the hot issues of the window ending at now.
func (s *Service) Hot(ctx context.Context, now time.Time, o HotOptions) (HotReport, error) {
	o = o.withDefaults()
	from := now.Add(-time.Duration(o.Baseline+1) * o.Window)
	rows, err := s.St.TicketsCreated(ctx, from, now, 200000)
	if err != nil {
		return HotReport{}, err
	}
	return DetectHot(rows, now, o), nil
}

func (o HotOptions) withDefaults() HotOptions {
	if o.Window <= 0 {
		o.Window = time.Hour
	}
	if o.Baseline <= 0 {
		o.Baseline = 24
	}
	if o.MinCount <= 0 {
		o.MinCount = 20
	}
	if o.Factor <= 0 {
		o.Factor = 3
	}
	return o
}

// DetectHot finds the spikes of categories and keywords (runs of 2 to 4
// Chinese characters) in rows created in [now-window, now) against the
// baseline before it.
func DetectHot(rows []store.HotRow, now time.Time, o HotOptions) HotReport {
	o = o.withDefaults()
	start := now.Add(-o.Window)
	rep := HotReport{From: start, To: now, Spikes: []Spike{}}

	cats, grams := map[string]*tally{}, map[string]*tally{}
	texts := map[string]string{}
	bump := func(m map[string]*tally, k string, inWin bool, no string) {
		t := m[k]
		if t == nil {
			t = &tally{}
			m[k] = t
		}
		if inWin {
			t.win++
			t.nos = append(t.nos, no)
		} else {
			t.base++
		}
	}
	for _, r := range rows {
		if !r.CreatedAt.Before(now) {
			continue
		}
		inWin := !r.CreatedAt.Before(start)
		if inWin {
			rep.Tickets++
			texts[r.No] = r.Title + " " + r.Content
		} else {
			rep.Baseline++
		}
		if r.Category != "" {
			bump(cats, r.Category, inWin, r.No)
		}
		for g := range ngrams(r.Title + " " + r.Content) {
			bump(grams, g, inWin, r.No)
		}
	}
	if rep.Tickets == 0 {
		return rep
	}
	judge := func(kind string, m map[string]*tally) []Spike {
		var out []Spike
		for k, t := range m {
			if t.win < o.MinCount {
				continue
			}
			share := float64(t.win) / float64(rep.Tickets)
			bshare := 1 / float64(rep.Baseline+1) // floor: as if seen once
			if rep.Baseline > 0 && t.base > 0 {
				bshare = float64(t.base) / float64(rep.Baseline)
			}
			if share < o.Factor*bshare {
				continue
			}
			nos := slices.Clone(t.nos)
			sort.Sort(sort.Reverse(sort.StringSlice(nos)))
			out = append(out, Spike{Kind: kind, Term: k, Count: t.win, Share: round4(share), BaselineCount: t.base,
				BaselineShare: round4(bshare), Ratio: round4(share / bshare), Tickets: nos})
		}
		return out
	}
	spikes := judge("category", cats)
	spikes = append(spikes, clusterKeywords(judge("keyword", grams), grams2sets(grams), texts)...)
	sort.SliceStable(spikes, func(i, j int) bool {
		return spikes[i].Ratio*float64(spikes[i].Count) > spikes[j].Ratio*float64(spikes[j].Count)
	})
	if spikes != nil {
		rep.Spikes = spikes
	}
	return rep
}

// ngrams are the distinct runs of 2 to 4 Han characters of text.
func ngrams(text string) map[string]bool {
	out := map[string]bool{}
	var run []rune
	flush := func() {
		for n := 2; n <= 4; n++ {
			for i := 0; i+n <= len(run); i++ {
				out[string(run[i:i+n])] = true
			}
		}
		run = run[:0]
	}
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			run = append(run, r)
			continue
		}
		flush()
	}
	flush()
	return out
}

// grams2sets returns the window's ticket set of each n-gram.
func grams2sets[T interface{ get() []string }](m map[string]T) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(m))
	for k, t := range m {
		set := map[string]bool{}
		for _, no := range t.get() {
			set[no] = true
		}
		out[k] = set
	}
	return out
}

// clusterKeywords merges the spiking n-grams that come from the same tickets
// (a rumour repeats one phrase: all its pieces spike together) into one spike
// per phrase, named by the longest run of its pieces in the newest ticket.
func clusterKeywords(kw []Spike, sets map[string]map[string]bool, texts map[string]string) []Spike {
	sort.Slice(kw, func(i, j int) bool {
		if kw[i].Count != kw[j].Count {
			return kw[i].Count > kw[j].Count
		}
		return kw[i].Term < kw[j].Term
	})
	type cluster struct {
		head  Spike
		set   map[string]bool
		terms []string
	}
	var cs []*cluster
	for _, s := range kw {
		set := sets[s.Term]
		var into *cluster
		for _, c := range cs {
			common := 0
			for no := range set {
				if c.set[no] {
					common++
				}
			}
			if float64(common) >= 0.8*float64(min(len(set), len(c.set))) {
				into = c
				break
			}
		}
		if into == nil {
			cs = append(cs, &cluster{head: s, set: set, terms: []string{s.Term}})
			continue
		}
		into.terms = append(into.terms, s.Term)
	}
	out := make([]Spike, 0, len(cs))
	for _, c := range cs {
		s := c.head
		pieces := map[string]bool{}
		for _, t := range c.terms {
			pieces[t] = true
		}
		if len(s.Tickets) > 0 {
			if p := phrase(texts[s.Tickets[0]], pieces); p != "" {
				s.Term = p
			}
		}
		sort.Slice(c.terms, func(i, j int) bool {
			if a, b := len([]rune(c.terms[i])), len([]rune(c.terms[j])); a != b {
				return a < b
			}
			return c.terms[i] < c.terms[j]
		})
		if len(c.terms) > 8 {
			c.terms = c.terms[:8]
		}
		s.Terms = c.terms
		if len(s.Tickets) > 20 {
			s.Tickets = s.Tickets[:20]
		}
		out = append(out, s)
		if len(out) == 10 {
			break
		}
	}
	return out
}

// phrase is the longest run of text (at most 12 characters) whose every pair
// of neighbouring characters is a spiking piece.
func phrase(text string, pieces map[string]bool) string {
	rs := []rune(text)
	best, cur := []rune{}, []rune{}
	for i := 0; i+1 < len(rs); i++ {
		if pieces[string(rs[i:i+2])] {
			if len(cur) == 0 {
				cur = append(cur, rs[i])
			}
			cur = append(cur, rs[i+1])
		} else {
			cur = cur[:0]
		}
		if len(cur) > len(best) {
			best = append(best[:0], cur...)
		}
	}
	if len(best) > 12 {
		best = best[:12]
	}
	return string(best)
}

func round4(v float64) float64 { return float64(int64(v*10000+0.5)) / 10000 }
