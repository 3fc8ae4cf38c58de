package classify

import (
	"unicode"
)

// fold normalises text for matching: full-width ASCII becomes half-width, letters
// become lower case, and white space, invisible format characters (zero-width
// spaces, joiners, BOM) and emoji variation selectors are dropped. Punctuation is
// kept: it separates words. Keywords go through the same function.
func fold(s string) []rune {
	out := make([]rune, 0, len(s)/2+1)
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r >= 0xFE00 && r <= 0xFE0F, r == 0x3000:
			continue
		}
		if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		out = append(out, unicode.ToLower(r))
	}
	return out
}

// meaningful reports whether r counts towards a message's length: letters
// (including Chinese characters) and digits; not punctuation, symbols or emoji.
func meaningful(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

// family is a list family; matches of one family never overlap.
type family uint8

const (
	famCategory family = iota
	famNature
	famThanks
	famResolved
	famFiller
	famProvincial
	famPlace
	numFamilies
)

// payload says what a dictionary word is in one family: id indexes that family's
// table in the Classifier.
type payload struct {
	fam family
	id  int32
}

// dict is one trie over runes holding the words of every family. Edges live in a
// single map keyed by (node, rune), which keeps the structure small for the few
// thousand place names and makes a failed step one hash look-up.
type dict struct {
	edges map[uint64]int32
	out   [][]payload // per node: what the word ending here is, at most one per family
}

func newDict() *dict {
	return &dict{edges: map[uint64]int32{}, out: [][]payload{nil}}
}

func edgeKey(node int32, r rune) uint64 { return uint64(node)<<21 | uint64(r&0x1FFFFF) }

// add inserts word (already folded) for one family. When the word is already
// there for that family, the first id stays and false is returned.
func (d *dict) add(word []rune, p payload) bool {
	n := int32(0)
	for _, r := range word {
		k := edgeKey(n, r)
		c, ok := d.edges[k]
		if !ok {
			c = int32(len(d.out))
			d.out = append(d.out, nil)
			d.edges[k] = c
		}
		n = c
	}
	for _, q := range d.out[n] {
		if q.fam == p.fam {
			return false
		}
	}
	d.out[n] = append(d.out[n], p)
	return true
}

// match is one accepted keyword occurrence: text[start:end] is word id.
type match struct {
	start, end int32
	id         int32
}

// scan finds, for every family independently, the leftmost-longest
// non-overlapping occurrences of its words in text. One walk of the trie from each
// position serves all families.
func (d *dict) scan(text []rune, res *[numFamilies][]match) {
	var next [numFamilies]int // a family's next match may not start before this
	for i := range text {
		var best [numFamilies]match
		found := false
		n := int32(0)
		for j := i; j < len(text); j++ {
			c, ok := d.edges[edgeKey(n, text[j])]
			if !ok {
				break
			}
			n = c
			for _, p := range d.out[n] {
				best[p.fam] = match{start: int32(i), end: int32(j + 1), id: p.id}
				found = true
			}
		}
		if !found {
			continue
		}
		for f := range numFamilies {
			if best[f].end > 0 && i >= next[f] {
				res[f] = append(res[f], best[f])
				next[f] = int(best[f].end)
			}
		}
	}
}

// hasPrefix reports whether text starts with one of words.
func hasPrefix(text []rune, words [][]rune) bool {
	for _, w := range words {
		if len(w) <= len(text) && equalRunes(text[:len(w)], w) {
			return true
		}
	}
	return false
}

// hasSuffix reports whether text ends with one of words.
func hasSuffix(text []rune, words [][]rune) bool {
	for _, w := range words {
		if len(w) <= len(text) && equalRunes(text[len(text)-len(w):], w) {
			return true
		}
	}
	return false
}

func equalRunes(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func foldAll(words []string) [][]rune {
	out := make([][]rune, 0, len(words))
	for _, w := range words {
		if f := fold(w); len(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}
