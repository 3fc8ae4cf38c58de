// Package classify does the first reading of an arriving message, as the work
// standard's intake step (集中受理) asks: its nature (性质: consult, help, suggestion,
// complaint), its content category (内容分类, one of nine), and whether it calls
// for one of the standard SMS replies: thanks, suggestion, incomplete, or outside
// the city's remit. It is a keyword classifier: fast, deterministic, explainable
// (every decision lists the words that made it), and tuned by data, not code. The
// data is configs/classify.yaml plus configs/divisions.json (GB/T 2260 divisions).
//
// # Matching
//
// The message is folded (full-width to half-width, lower case, spaces and
// invisible characters removed) and scanned once with a trie holding every word of
// every list. Each list family (categories, natures, thanks phrases, resolved
// phrases, fillers, provincial matters, places) keeps its leftmost-longest,
// non-overlapping occurrences, so a long standard term such as 城镇职工养老保险 is
// one hit for 劳动人事 and not also 保险 for 财税金融.
//
// # Category
//
// Every category keyword occurrence scores its length in characters for its
// category. The highest total wins ("longest and most hits"); on equal totals, the
// category with more occurrences; then the category listed first in
// classify.yaml. Without any hit: the default category (其他).
//
// # Nature
//
// The nature rules of classify.yaml are tried in file order and the first rule
// with a hit decides; without any hit the default nature (help). The shipped order
// is: explicit complaint (投诉, 举报) > explicit suggestion (建议, 增设) > explicit
// consultation (咨询, 问一下) > explicit request for help (求助, 帮忙) > conduct
// complaints (态度恶劣, 乱收费) > problem words (坏了, 漏水, 停水) > question words
// (请问, 怎么办理, 多少钱) > soft wishes (希望, 应该). Words inside a thanks phrase
// ("谢谢你们的帮助") do not count.
//
// # Flags
//
//   - Thanks: a thanks phrase is present and, outside the thanks phrases, there is
//     no category keyword and no nature keyword; or a "resolved" phrase is present
//     (修好了, 已解决) and the only other words are category keywords and the rules
//     marked thanks_ok. "谢谢，我家楼下路灯坏了" is therefore not thanks (坏了).
//   - Incomplete: not thanks, and either nothing but fillers (greetings, 在吗,
//     我要反映...), punctuation, emoji and digits is left (a bare phone number), or
//     fewer than MinChars letters and digits are left after removing fillers and
//     no category keyword matched. So "路灯不亮了" (5 characters, 路灯) is complete
//     with MinChars 6, and "我要投诉" is not.
//   - Suggestion: the nature is suggestion and the message is neither thanks nor
//     incomplete.
//   - OutOfRemit: neither thanks nor incomplete, and the matter names another place
//     or a provincial body, by this precedence: (1) a city or province of another
//     province (北京市朝阳区, 江苏省); (2) a provincial matter of the configured
//     province (省人社厅, 省直单位, 省高速); (3) another city of the configured
//     province (济南市历下区, 青岛的). A message that also names the configured city
//     or one of its counties is kept within remit for (1) and (3): the citizen may
//     only be telling where he comes from, and an agent can still decide.
//     See places in classify.yaml for how names are recognised without mistaking
//     words for places.
//
// A Classifier is immutable and safe for concurrent use.
package classify

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"

	"hotline/configs"
	"hotline/ticket"
)

// DefaultMinChars applies when neither the caller nor the data gives a minimum.
const DefaultMinChars = 6

// Remit says where a matter outside the city's remit belongs.
type Remit struct {
	Level  string // "city" (another prefecture-level city, or another province) or "province" (a provincial matter)
	Place  string // e.g. "济南市" or "省级" -> fills 您的问题属{place}管理
	Target string // e.g. "济南市" or "山东省住房和城乡建设厅" / "省级有关部门" -> fills 建议向{target}反映
}

// Remit levels.
const (
	LevelCity     = "city"
	LevelProvince = "province"
)

// Result is the classification of one message.
type Result struct {
	Nature     ticket.Nature // consult, help, suggestion, complaint (always set; default help)
	Category   string        // one of the categories of the data (always set; default 其他)
	Thanks     bool          // the citizen only says thanks
	Suggestion bool          // a suggestion
	Incomplete bool          // too short or no matter stated
	OutOfRemit *Remit        // non-nil when the matter belongs to another city or to the province
	Keywords   []string      // the matched words behind the decision, for the UI (never nil)
}

type keyword struct {
	group int    // category index, nature rule index or provincial matter index
	word  string // as written in the data
}

// Classifier classifies messages for one city. Build it with New or Default.
type Classifier struct {
	dict     *dict
	minChars int

	categories      []string
	defaultCategory int
	catWords        []keyword
	rules           []NatureRule
	natWords        []keyword
	defaultNature   ticket.Nature
	thanksWords     []string
	resolvedWords   []string

	provPlace   string
	provTargets []string
	provWords   []keyword

	places       []*place
	contextAfter [][]rune
	rejectAfter  [][]rune
	rejectBefore [][]rune

	city, province string
}

var defaultData = sync.OnceValues(func() (*Data, error) { return ParseData(configs.ClassifyData()) })

// Default builds a Classifier from the embedded classify.yaml and divisions.json.
func Default(city configs.City, minChars int) (*Classifier, error) {
	d, err := defaultData()
	if err != nil {
		return nil, err
	}
	return New(d, configs.Divisions(), city, minChars)
}

// New builds a Classifier for city from parsed data and a divisions.json document.
// minChars <= 0 means the data's default_min_chars (or DefaultMinChars).
func New(data *Data, divisions []byte, city configs.City, minChars int) (*Classifier, error) {
	if data == nil {
		return nil, errors.New("classify: no data")
	}
	if err := data.check(); err != nil {
		return nil, fmt.Errorf("classify data: %w", err)
	}
	if minChars <= 0 {
		minChars = data.DefaultMinChars
	}
	if minChars <= 0 {
		minChars = DefaultMinChars
	}
	table, cityName, province, err := buildPlaces(divisions, data, city.Name, city.Province)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	c := &Classifier{
		dict:          newDict(),
		minChars:      minChars,
		defaultNature: data.DefaultNature,
		rules:         slices.Clone(data.Natures),
		city:          cityName,
		province:      province,
		contextAfter:  foldAll(data.Places.ContextAfter),
		rejectAfter:   foldAll(data.Places.RejectAfter),
		rejectBefore:  foldAll(data.Places.RejectBefore),
	}
	for i, cat := range data.Categories {
		c.categories = append(c.categories, cat.Name)
		if cat.Name == data.DefaultCategory {
			c.defaultCategory = i
		}
		for _, w := range slices.Concat(cat.Standard, cat.Extra) {
			c.addWord(famCategory, w, len(c.catWords), func() { c.catWords = append(c.catWords, keyword{i, w}) })
		}
	}
	for i, r := range data.Natures {
		for _, w := range r.Keywords {
			c.addWord(famNature, w, len(c.natWords), func() { c.natWords = append(c.natWords, keyword{i, w}) })
		}
	}
	for _, w := range data.Thanks.Keywords {
		c.addWord(famThanks, w, len(c.thanksWords), func() { c.thanksWords = append(c.thanksWords, w) })
	}
	for _, w := range data.Thanks.Resolved {
		c.addWord(famResolved, w, len(c.resolvedWords), func() { c.resolvedWords = append(c.resolvedWords, w) })
	}
	for i, w := range data.Incomplete.Fillers {
		c.addWord(famFiller, w, i, func() {})
	}

	// Provincial matters, named with the configured province.
	provShort := shortOf(province)
	if province == "" {
		provShort = ""
	}
	expand := func(s string) string {
		p, ps := province, provShort
		if p == "" {
			p, ps = "省", "省"
		}
		return strings.NewReplacer("{province}", p, "{province_short}", ps).Replace(s)
	}
	c.provPlace = data.Provincial.Place
	if c.provPlace == "" {
		c.provPlace = "省级"
	}
	defTarget := data.Provincial.DefaultTarget
	if defTarget == "" {
		defTarget = "省级有关部门"
	}
	c.provTargets = append(c.provTargets, expand(defTarget))
	for i, m := range data.Provincial.Matters {
		c.provTargets = append(c.provTargets, expand(m.Target))
		for _, w := range m.Keywords {
			w := expand(w)
			c.addWord(famProvincial, w, len(c.provWords), func() { c.provWords = append(c.provWords, keyword{i + 1, w}) })
		}
	}

	for _, name := range table.order {
		p := table.byName[name]
		if c.dict.add([]rune(name), payload{famPlace, int32(len(c.places))}) {
			c.places = append(c.places, p)
		}
	}
	return c, nil
}

// addWord puts a keyword into the dictionary under id; record is called when the
// word is new for the family (a repeated word keeps its first meaning).
func (c *Classifier) addWord(f family, w string, id int, record func()) {
	k := fold(w)
	if len(k) == 0 {
		return
	}
	if c.dict.add(k, payload{f, int32(id)}) {
		record()
	}
}

// MinChars is the minimum length in effect.
func (c *Classifier) MinChars() int { return c.minChars }

// Categories lists the category names in the data's order.
func (c *Classifier) Categories() []string { return slices.Clone(c.categories) }

// Classify reads one message. It does no I/O and allocates only for the result
// and a few small slices.
func (c *Classifier) Classify(text string) Result {
	rs := fold(text)
	var m [numFamilies][]match
	c.dict.scan(rs, &m)

	thanks := m[famThanks]
	cats := outside(m[famCategory], thanks)
	nats := outside(m[famNature], thanks)

	res := Result{Nature: c.defaultNature, Category: c.categories[c.defaultCategory], Keywords: []string{}}
	var kws []string

	// Nature: first rule, in data order, with a hit.
	rule := -1
	for _, x := range nats {
		if g := c.natWords[x.id].group; rule < 0 || g < rule {
			rule = g
		}
	}
	if rule >= 0 {
		res.Nature = c.rules[rule].Nature
		for _, x := range nats {
			if c.natWords[x.id].group == rule {
				kws = append(kws, c.natWords[x.id].word)
			}
		}
	}

	// Category: most characters matched, then most hits, then data order.
	if len(cats) > 0 {
		type score struct{ chars, hits int }
		scores := make([]score, len(c.categories))
		for _, x := range cats {
			g := c.catWords[x.id].group
			scores[g].chars += int(x.end - x.start)
			scores[g].hits++
		}
		best := 0
		for i := 1; i < len(scores); i++ {
			if scores[i].chars > scores[best].chars ||
				(scores[i].chars == scores[best].chars && scores[i].hits > scores[best].hits) {
				best = i
			}
		}
		res.Category = c.categories[best]
		for _, x := range cats {
			if c.catWords[x.id].group == best {
				kws = append(kws, c.catWords[x.id].word)
			}
		}
	}

	// Thanks.
	if len(thanks) > 0 {
		only := len(cats) == 0 && len(nats) == 0
		if !only && len(m[famResolved]) > 0 {
			only = true
			for _, x := range nats {
				if !c.rules[c.natWords[x.id].group].ThanksOK {
					only = false
					break
				}
			}
		}
		if only {
			res.Thanks = true
			for _, x := range thanks {
				kws = append(kws, c.thanksWords[x.id])
			}
			for _, x := range m[famResolved] {
				kws = append(kws, c.resolvedWords[x.id])
			}
		}
	}

	// Incomplete: what is left once fillers are removed.
	if !res.Thanks {
		core, letters := 0, 0
		fillers := m[famFiller]
		f := 0
		for i, r := range rs {
			for f < len(fillers) && int(fillers[f].end) <= i {
				f++
			}
			if f < len(fillers) && int(fillers[f].start) <= i {
				continue
			}
			if meaningful(r) {
				core++
				if unicode.IsLetter(r) {
					letters++
				}
			}
		}
		res.Incomplete = letters == 0 || (len(cats) == 0 && core < c.minChars)
	}

	res.Suggestion = res.Nature == ticket.Suggestion && !res.Thanks && !res.Incomplete

	if !res.Thanks && !res.Incomplete {
		if r, words := c.remit(rs, m[famPlace], m[famProvincial]); r != nil {
			res.OutOfRemit = r
			kws = append(kws, words...)
		}
	}

	seen := make(map[string]bool, len(kws))
	for _, k := range kws {
		if !seen[k] {
			seen[k] = true
			res.Keywords = append(res.Keywords, k)
		}
	}
	return res
}

// outside drops the matches of ms that overlap one of spans. Both are sorted by
// start and spans do not overlap each other, so one sweep does.
func outside(ms, spans []match) []match {
	if len(spans) == 0 {
		return ms
	}
	out, j := ms[:0], 0
	for _, x := range ms {
		for j < len(spans) && spans[j].end <= x.start {
			j++
		}
		if j < len(spans) && spans[j].start < x.end {
			continue
		}
		out = append(out, x)
	}
	return out
}

// remit applies the out-of-remit precedence described in the package comment.
func (c *Classifier) remit(rs []rune, places, prov []match) (*Remit, []string) {
	own := false
	var farCity, farProv, nearCity *place
	var farCityW, farProvW, nearCityW string
	for _, x := range places {
		p := c.places[x.id]
		if p.kind == placeNeutral || !c.placeCounts(rs, x, p) {
			continue
		}
		w := string(rs[x.start:x.end])
		switch {
		case p.kind == placeOwn:
			own = true
		case p.kind == placeCity && p.province != c.province:
			if farCity == nil {
				farCity, farCityW = p, w
			}
		case p.kind == placeCity:
			if nearCity == nil {
				nearCity, nearCityW = p, w
			}
		case p.kind == placeProvince:
			if farProv == nil {
				farProv, farProvW = p, w
			}
		}
	}
	switch {
	case !own && farCity != nil:
		return &Remit{Level: LevelCity, Place: farCity.name, Target: farCity.name}, []string{farCityW}
	case !own && farProv != nil:
		return &Remit{Level: LevelCity, Place: farProv.name, Target: farProv.name + "有关部门"}, []string{farProvW}
	case len(prov) > 0:
		// The first provincial keyword with a target of its own names the body.
		target := c.provTargets[0]
		words := make([]string, 0, len(prov))
		for _, x := range prov {
			k := c.provWords[x.id]
			words = append(words, k.word)
			if target == c.provTargets[0] {
				target = c.provTargets[k.group]
			}
		}
		return &Remit{Level: LevelProvince, Place: c.provPlace, Target: target}, words
	case !own && nearCity != nil:
		return &Remit{Level: LevelCity, Place: nearCity.name, Target: nearCity.name}, []string{nearCityW}
	}
	return nil, nil
}

// placeCounts applies the context rules to one place-name occurrence.
func (c *Classifier) placeCounts(rs []rune, x match, p *place) bool {
	after, before := rs[x.end:], rs[:x.start]
	t := p.tier
	if p.kind == placeOwn || p.kind == placeOwnProvince {
		// Own names count wherever they are: they only ever keep a message
		// within remit, which is the cautious side.
		return true
	}
	if hasSuffix(before, c.rejectBefore) {
		return false
	}
	if t == tierFull && len(after) > 0 && after[0] == '场' && rs[x.end-1] == '市' {
		// 东方市场 is a market, 济南市场监管局 is still 济南: judge the short form,
		// followed by 市场.
		t, after = p.fallback, rs[x.end-1:]
	}
	switch t {
	case tierFull:
		return true
	case tierBare:
		return !hasPrefix(after, c.rejectAfter)
	case tierContext:
		return !hasPrefix(after, c.rejectAfter) && hasPrefix(after, c.contextAfter)
	}
	return false
}

// Flags returns the ticket flags for r, in a fixed order: thanks, suggestion,
// incomplete, out_of_remit.
func (c *Classifier) Flags(r Result) []string {
	var f []string
	if r.Thanks {
		f = append(f, ticket.FlagThanks)
	}
	if r.Suggestion {
		f = append(f, ticket.FlagSuggestion)
	}
	if r.Incomplete {
		f = append(f, ticket.FlagIncomplete)
	}
	if r.OutOfRemit != nil {
		f = append(f, ticket.FlagOutOfRemit)
	}
	return f
}
