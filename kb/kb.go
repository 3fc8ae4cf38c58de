// Package kb is the hotline's knowledge base (知识库) in memory: a bleve index
// over the entries' question, keywords and answer, searched by agents and by the
// SMS auto-reply, plus the import-file parser (Parse).
//
// # Analysis
//
// All three fields use bleve's "cjk" analyzer: Unicode word segmentation, width
// folding (full-width ASCII to half-width), lower-casing, and CJK bigrams, so
// "住房公积金" is indexed as 住房, 房公, 公积, 积金. A lone CJK character stays a
// unigram; Latin words and numbers stay whole.
//
// # Ranking and the normalized Score
//
// bleve's own TF-IDF scores are unbounded and not comparable between queries,
// so bleve only picks the candidates (a disjunction of match queries: question
// and keywords boosted, answer weak) and Hit.Score is computed by this package
// with a documented, bounded function:
//
//	Q = the query's analyzed terms (a set), without filler words (greetings
//	    and interrogatives: 您好, 请问, 谢谢, 怎么, 什么, 如何, 需要 ...) and
//	    without the bigrams that straddle one (要什, 么材 in 需要什么材料)
//	S = the entry's signature: the terms of its question and of its keywords,
//	    filtered the same way; the answer is NOT part of it
//	idf(t) = ln(1 + N/df(t)), N = indexed entries, df(t) = entries whose
//	    signature holds t (a term no entry has counts as df = 1: rare)
//	q(t) = idf(t) for t in Q
//	d(t) = idf(t) for t in the question, idf(t)/2 for a term only a keyword has
//	Score = Σ_{t∈Q∩S} q(t)·d(t) / ( √Σ_{t∈Q} q(t)² · √Σ_{t∈S} d(t)² )
//
// That is the cosine between the query's and the entry's idf-weighted term
// vectors, i.e. the query-entry score divided by the geometric mean of the
// score the query gets against itself and the entry against itself. It is 0
// when they share no term, near 1 when the query says what the question and
// keywords say, and by Cauchy–Schwarz never outside 0..1. Keyword-only terms
// weigh half so that keywords add synonyms without a long keyword list diluting
// the score. Both directions count: a long message that merely mentions a
// keyword (a complaint about the 公积金 office, say) covers little of its own
// text and scores low, and so does a vague one-word text that covers little of
// the entry. Search orders by Score, then by bleve's score; entries that bleve
// found only through their answer text have Score 0 and come last.
//
// Answer (the auto-reply) is deliberately conservative: it looks at the single
// best hit only, and answers only if its Score >= minScore AND at least one of
// the entry's keywords occurs literally (case- and width-insensitively) in the
// text. An entry without keywords is therefore never sent automatically.
// DefaultMinScore is a starting threshold measured on configs/kb-sample.csv.
//
// # Expiry
//
// An entry whose ValidUntil has passed is not indexed by Replace or Upsert, and
// Search/Answer also check ValidUntil against time.Now on every query, so an
// entry that expires while indexed is never returned. A date-only valid_until
// in an import file (YYYY-MM-DD) means "valid through that day, China Standard
// Time": Parse stores it as 23:59:59 +08:00 of that day.
//
// # Concurrency
//
// Index is safe for concurrent use. Writers (Replace, Upsert, Delete) are
// serialized; Replace builds a new bleve index beside the live one and swaps it
// in, so searches running meanwhile keep answering from the old one.
package kb

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	"golang.org/x/text/width"
)

// DefaultMinScore is a conservative Answer threshold for the normalized Score,
// measured on configs/kb-sample.csv: direct questions score 0.6–0.95 against
// their entry; complaints that mention a keyword, long stories, one-word texts
// and other questions on the same topic score below 0.55.
const DefaultMinScore = 0.6

// Entry is one knowledge-base entry.
type Entry struct {
	ID         int64      `json:"id"`
	ExternalID string     `json:"external_id,omitempty"`
	Question   string     `json:"question"`
	Keywords   []string   `json:"keywords"`
	Answer     string     `json:"answer"`
	Unit       string     `json:"unit"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
}

// Expired tells whether the entry's validity has ended at now.
func (e Entry) Expired(now time.Time) bool {
	return e.ValidUntil != nil && now.After(*e.ValidUntil)
}

// Hit is a search result; Score is normalized to 0..1 (see the package doc).
type Hit struct {
	Entry Entry
	Score float64
}

// Index is the in-memory knowledge-base index. The zero value is not usable:
// call NewIndex.
type Index struct {
	wmu sync.Mutex // serializes Replace, Upsert, Delete

	mu sync.RWMutex // guards st and the maps inside it
	st *state

	analyzer analysis.Analyzer
	mapping  mapping.IndexMapping
}

// state is one generation of the index: the bleve index and what the scoring
// needs. Replace builds a new one; Upsert and Delete change it in place.
type state struct {
	idx     bleve.Index
	entries map[int64]*doc
	df      map[string]int
}

type doc struct {
	e   Entry
	sig []string  // signature terms, deduplicated
	wt  []float64 // per sig term: 1 from the question, keywordWeight from keywords only
	kws []string  // keywords folded for the literal check
}

// keywordWeight is the weight of a signature term that only a keyword has: it
// lets keywords add synonyms without a long keyword list diluting the Score.
const keywordWeight = 0.5

const (
	fieldQuestion = "question"
	fieldKeywords = "keywords"
	fieldAnswer   = "answer"
)

// fillers are two-character words of greeting, politeness and interrogation
// that say nothing about the topic. They are left out of the Score on both
// sides, and so are the bigrams straddling them ("要什" and "么材" in
// "需要什么材料"), which are noise of the bigram analysis.
var fillers = map[string]bool{
	"你好": true, "您好": true, "请问": true, "谢谢": true, "麻烦": true,
	"一下": true, "我想": true, "咨询": true,
	"怎么": true, "什么": true, "如何": true, "怎样": true, "哪些": true,
	"哪里": true, "多少": true, "是否": true, "可以": true, "需要": true,
}

// NewIndex returns an empty index.
func NewIndex() (*Index, error) {
	im := newMapping()
	ix := &Index{mapping: im, analyzer: im.AnalyzerNamed(cjk.AnalyzerName)}
	if ix.analyzer == nil {
		return nil, errors.New("kb: cjk analyzer unavailable")
	}
	st, err := ix.newState()
	if err != nil {
		return nil, err
	}
	ix.st = st
	return ix, nil
}

func newMapping() *mapping.IndexMappingImpl {
	text := func() *mapping.FieldMapping {
		fm := mapping.NewTextFieldMapping()
		fm.Analyzer = cjk.AnalyzerName
		fm.Store = false
		fm.IncludeInAll = false
		fm.IncludeTermVectors = false
		fm.DocValues = false
		return fm
	}
	dm := mapping.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt(fieldQuestion, text())
	dm.AddFieldMappingsAt(fieldKeywords, text())
	dm.AddFieldMappingsAt(fieldAnswer, text())
	im := bleve.NewIndexMapping()
	im.DefaultMapping = dm
	im.DefaultAnalyzer = cjk.AnalyzerName
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im
}

func (ix *Index) newState() (*state, error) {
	idx, err := bleve.NewMemOnly(ix.mapping)
	if err != nil {
		return nil, fmt.Errorf("kb: new index: %w", err)
	}
	return &state{idx: idx, entries: map[int64]*doc{}, df: map[string]int{}}, nil
}

// Close releases the index; it must not be used afterwards.
func (ix *Index) Close() error {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.st == nil {
		return nil
	}
	err := ix.st.idx.Close()
	ix.st = nil
	return err
}

// Len is the number of indexed entries (some may have expired since they were
// indexed; those are filtered at query time).
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.st == nil {
		return 0
	}
	return len(ix.st.entries)
}

const batchSize = 500

// Replace rebuilds the index from the full list of entries; expired entries are
// skipped, and for a repeated ID the last one wins. Searches running meanwhile
// use the previous contents until the new index is complete.
func (ix *Index) Replace(entries []Entry) error {
	if err := checkIDs(entries); err != nil {
		return err
	}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if ix.closed() {
		return errClosed
	}
	st, err := ix.newState()
	if err != nil {
		return err
	}
	now := time.Now()
	live := map[int64]*doc{}
	for _, e := range entries {
		if e.Expired(now) {
			delete(live, e.ID)
			continue
		}
		live[e.ID] = ix.makeDoc(e)
	}
	b := st.idx.NewBatch()
	for id, d := range live {
		if err := b.Index(docID(id), indexable(d.e)); err != nil {
			st.idx.Close()
			return fmt.Errorf("kb: index entry %d: %w", id, err)
		}
		if b.Size() >= batchSize {
			if err := st.idx.Batch(b); err != nil {
				st.idx.Close()
				return fmt.Errorf("kb: index: %w", err)
			}
			b.Reset()
		}
		st.add(d)
	}
	if err := st.idx.Batch(b); err != nil {
		st.idx.Close()
		return fmt.Errorf("kb: index: %w", err)
	}
	ix.mu.Lock()
	old := ix.st
	ix.st = st
	ix.mu.Unlock()
	// Readers hold mu.RLock for the whole of a search, so once the swap is done
	// nobody uses the old index any more.
	return old.idx.Close()
}

// Upsert adds or replaces entries by ID. An entry that has expired is removed
// from the index instead.
func (ix *Index) Upsert(entries ...Entry) error {
	if err := checkIDs(entries); err != nil {
		return err
	}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if ix.closed() {
		return errClosed
	}
	st := ix.st // only writers replace ix.st, and we are the writer
	now := time.Now()
	b := st.idx.NewBatch()
	docs := make([]*doc, 0, len(entries))
	var gone []int64
	for _, e := range entries {
		if e.Expired(now) {
			b.Delete(docID(e.ID))
			gone = append(gone, e.ID)
			continue
		}
		d := ix.makeDoc(e)
		if err := b.Index(docID(e.ID), indexable(e)); err != nil {
			return fmt.Errorf("kb: index entry %d: %w", e.ID, err)
		}
		docs = append(docs, d)
	}
	// The bleve index is safe for concurrent use; searches meanwhile may see
	// a new candidate before its entry is in the map (it is skipped) or the old
	// entry for an ID: both are momentary and self-consistent.
	if err := st.idx.Batch(b); err != nil {
		return fmt.Errorf("kb: index: %w", err)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, id := range gone {
		st.remove(id)
	}
	for _, d := range docs {
		st.remove(d.e.ID)
		st.add(d)
	}
	return nil
}

// Delete removes entries by ID; unknown IDs are ignored.
func (ix *Index) Delete(ids ...int64) error {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if ix.closed() {
		return errClosed
	}
	st := ix.st
	b := st.idx.NewBatch()
	for _, id := range ids {
		b.Delete(docID(id))
	}
	if err := st.idx.Batch(b); err != nil {
		return fmt.Errorf("kb: delete: %w", err)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, id := range ids {
		st.remove(id)
	}
	return nil
}

var errClosed = errors.New("kb: index is closed")

func (ix *Index) closed() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.st == nil
}

func checkIDs(entries []Entry) error {
	for i, e := range entries {
		if e.ID == 0 {
			return fmt.Errorf("kb: entry %d (%q) has no ID: store it first", i+1, e.Question)
		}
	}
	return nil
}

func docID(id int64) string { return strconv.FormatInt(id, 10) }

func indexable(e Entry) map[string]any {
	return map[string]any{
		fieldQuestion: e.Question,
		fieldKeywords: e.Keywords,
		fieldAnswer:   e.Answer,
	}
}

func (st *state) add(d *doc) {
	st.entries[d.e.ID] = d
	for _, t := range d.sig {
		st.df[t]++
	}
}

func (st *state) remove(id int64) {
	d, ok := st.entries[id]
	if !ok {
		return
	}
	delete(st.entries, id)
	for _, t := range d.sig {
		if st.df[t]--; st.df[t] <= 0 {
			delete(st.df, t)
		}
	}
}

func (ix *Index) makeDoc(e Entry) *doc {
	e.Keywords = append([]string(nil), e.Keywords...)
	d := &doc{e: e}
	seen := map[string]bool{}
	add := func(s string, w float64) {
		for _, t := range ix.terms(s) {
			if !seen[t] {
				seen[t] = true
				d.sig = append(d.sig, t)
				d.wt = append(d.wt, w)
			}
		}
	}
	add(e.Question, 1)
	for _, k := range e.Keywords {
		add(k, keywordWeight)
		if f := fold(strings.TrimSpace(k)); f != "" {
			d.kws = append(d.kws, f)
		}
	}
	return d
}

// terms analyzes s like the index does, then drops the fillers and the
// bigrams that overlap one.
func (ix *Index) terms(s string) []string {
	toks := ix.analyzer.Analyze([]byte(s))
	type span struct{ start, end int }
	var skip []span
	for _, t := range toks {
		if fillers[string(t.Term)] {
			skip = append(skip, span{t.Start, t.End})
		}
	}
	out := make([]string, 0, len(toks))
next:
	for _, t := range toks {
		for _, sp := range skip {
			if t.Start < sp.end && sp.start < t.End {
				continue next
			}
		}
		out = append(out, string(t.Term))
	}
	return out
}

// fold makes the literal keyword check case- and width-insensitive.
func fold(s string) string { return strings.ToLower(width.Fold.String(s)) }

// Search returns up to n entries for q, best first (n <= 0 means 10). Expired
// entries are never returned.
func (ix *Index) Search(q string, n int) ([]Hit, error) {
	if n <= 0 {
		n = 10
	}
	found, err := ix.search(q, n, max(3*n, 30))
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, len(found))
	for i, f := range found {
		hits[i] = f.hit
	}
	return hits, nil
}

// Answer returns the best hit for an incoming text when it is confident enough
// to be sent automatically: Score >= minScore and one of the entry's keywords
// occurs literally in text. Only the single best hit is considered.
func (ix *Index) Answer(text string, minScore float64) (Hit, bool) {
	found, err := ix.search(text, 1, 30)
	if err != nil || len(found) == 0 {
		return Hit{}, false
	}
	best := found[0]
	if best.hit.Score <= 0 || best.hit.Score < minScore {
		return Hit{}, false
	}
	ft := fold(text)
	for _, k := range best.kws {
		if strings.Contains(ft, k) {
			return best.hit, true
		}
	}
	return Hit{}, false
}

type scored struct {
	hit   Hit
	bleve float64
	kws   []string // the entry's folded keywords
}

func (ix *Index) search(q string, n, pool int) ([]scored, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	st := ix.st
	if st == nil {
		return nil, errClosed
	}
	if len(st.entries) == 0 {
		return nil, nil
	}
	req := bleve.NewSearchRequestOptions(candidates(q), pool, 0, false)
	res, err := st.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("kb: search: %w", err)
	}
	qterms := dedup(ix.terms(q))
	n0 := float64(len(st.entries))
	idf := func(t string) float64 {
		df := st.df[t]
		if df < 1 {
			df = 1
		}
		return math.Log(1 + n0/float64(df))
	}
	var qnorm float64
	qset := make(map[string]float64, len(qterms))
	for _, t := range qterms {
		w := idf(t)
		qset[t] = w
		qnorm += w * w
	}
	now := time.Now()
	out := make([]scored, 0, len(res.Hits))
	for _, m := range res.Hits {
		id, err := strconv.ParseInt(m.ID, 10, 64)
		if err != nil {
			continue
		}
		d := st.entries[id]
		if d == nil || d.e.Expired(now) {
			continue
		}
		var dot, dnorm float64
		for i, t := range d.sig {
			w := idf(t) * d.wt[i]
			dnorm += w * w
			if qw, ok := qset[t]; ok {
				dot += qw * w
			}
		}
		var s float64
		if dot > 0 && qnorm > 0 && dnorm > 0 {
			s = math.Min(1, dot/(math.Sqrt(qnorm)*math.Sqrt(dnorm)))
		}
		e := d.e
		e.Keywords = append([]string(nil), e.Keywords...)
		out = append(out, scored{hit: Hit{Entry: e, Score: s}, bleve: m.Score, kws: d.kws})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].hit.Score != out[j].hit.Score {
			return out[i].hit.Score > out[j].hit.Score
		}
		if out[i].bleve != out[j].bleve {
			return out[i].bleve > out[j].bleve
		}
		return out[i].hit.Entry.ID < out[j].hit.Entry.ID
	})
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// candidates is the bleve query that picks the entries to score.
func candidates(q string) query.Query {
	mq := func(field string, boost float64) query.Query {
		m := bleve.NewMatchQuery(q)
		m.SetField(field)
		m.SetBoost(boost)
		return m
	}
	return bleve.NewDisjunctionQuery(
		mq(fieldQuestion, 3),
		mq(fieldKeywords, 3),
		mq(fieldAnswer, 0.5),
	)
}

func dedup(ts []string) []string {
	seen := make(map[string]bool, len(ts))
	out := ts[:0]
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
