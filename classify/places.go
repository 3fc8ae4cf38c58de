package classify

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// divisionsDoc is configs/divisions.json: provinces, their prefecture-level cities
// (with the short form used in speech) and the county-level names of each city.
// Municipalities (北京市...) appear as a province with one city of the same name;
// county-level units directly under a province (济源市, 仙桃市, 石河子市...) appear as
// cities without a short form.
type divisionsDoc struct {
	Source    string `json:"source"`
	Provinces []struct {
		Name   string `json:"name"`
		Short  string `json:"short"`
		Cities []struct {
			Name     string   `json:"name"`
			Short    string   `json:"short"`
			Counties []string `json:"counties"`
		} `json:"cities"`
	} `json:"provinces"`
}

type placeKind uint8

const (
	placeNeutral     placeKind = iota // blocker, ambiguous or generic name: consumed, no effect
	placeOwn                          // the configured city, its short form or one of its counties
	placeOwnProvince                  // the configured province: no effect on remit
	placeCity                         // another prefecture-level city (or a county-level unit under a province)
	placeProvince                     // another province
)

// tier says when a short form counts as a place.
type tier uint8

const (
	tierFull    tier = iota // a full name: always (except after a travel word)
	tierBare                // well-known short form: alone
	tierContext             // short form: only when followed by a context word
	tierNever               // a common word: never
)

// place is one entry of the place family.
type place struct {
	kind     placeKind
	name     string // canonical name: 济南市, 江苏省; the own city for placeOwn
	province string // the province of a city
	tier     tier
	fallback tier // for a full name ending in 市 followed by 场: the tier of its short form
}

// placeTable collects place names before they go into the dictionary, resolving
// names that point to several places.
type placeTable struct {
	byName map[string]*place
	order  []string // insertion order, for deterministic ids
}

func (t *placeTable) put(name string, p place) {
	if utf8.RuneCountInString(name) < 2 {
		return
	}
	old, ok := t.byName[name]
	if !ok {
		q := p
		t.byName[name] = &q
		t.order = append(t.order, name)
		return
	}
	*old = mergePlace(*old, p)
}

// mergePlace decides what a name that denotes two places means: the own city wins
// (a name shared with the own city never sends a citizen away); a province wins
// over a city with the same short form (吉林, 海南); a full name wins over a short
// form or a county of the same place; two different places make the name neutral.
func mergePlace(a, b place) place {
	switch {
	case a.kind == placeOwn:
		return a
	case b.kind == placeOwn:
		return b
	case a.kind == placeNeutral:
		return a
	case b.kind == placeNeutral:
		return b
	case a.kind == placeOwnProvince:
		return a
	case b.kind == placeOwnProvince:
		return b
	case a.kind == placeProvince && b.kind == placeCity:
		return a
	case b.kind == placeProvince && a.kind == placeCity:
		return b
	case a.name == b.name && a.kind == b.kind:
		if b.tier < a.tier {
			return b
		}
		return a
	}
	return place{kind: placeNeutral}
}

// shortOf strips the administrative suffix of a city or province name.
func shortOf(name string) string {
	for _, suf := range []string{"自治区", "自治州", "特别行政区", "地区", "省", "市", "盟"} {
		if s, ok := strings.CutSuffix(name, suf); ok && utf8.RuneCountInString(s) >= 2 {
			return s
		}
	}
	return name
}

// buildPlaces reads divisions.json and produces the place table for a city. The
// own city is found by full or short name; when it is missing from the data only
// its configured name and short form are known.
func buildPlaces(doc []byte, d *Data, cityName, provinceName string) (*placeTable, string, string, error) {
	var dv divisionsDoc
	if err := json.Unmarshal(doc, &dv); err != nil {
		return nil, "", "", fmt.Errorf("divisions: %w", err)
	}
	if len(dv.Provinces) == 0 {
		return nil, "", "", errors.New("divisions: no provinces")
	}
	tiers := map[string]tier{}
	for _, w := range d.Places.WellKnown {
		tiers[string(fold(w))] = tierBare
	}
	for _, w := range d.Places.CommonWords {
		tiers[string(fold(w))] = tierNever
	}
	shortTier := func(s string) tier {
		if utf8.RuneCountInString(s) < 2 {
			return tierNever
		}
		if t, ok := tiers[s]; ok {
			return t
		}
		return tierContext
	}
	generic := map[string]bool{}
	for _, w := range d.Places.GenericNames {
		generic[string(fold(w))] = true
	}

	// Find the own city and province, by full or short name.
	ownShort := shortOf(cityName)
	for _, p := range dv.Provinces {
		if provinceName != "" && (p.Short == provinceName || p.Short == shortOf(provinceName)) {
			provinceName = p.Name
		}
		for _, c := range p.Cities {
			if cityName != "" && (c.Name == cityName || (c.Short != "" && c.Short == cityName)) {
				cityName, ownShort = c.Name, c.Short
				if provinceName == "" {
					provinceName = p.Name
				}
			}
		}
	}
	t := &placeTable{byName: map[string]*place{}}
	own := place{kind: placeOwn, name: cityName, tier: tierBare}
	if cityName != "" {
		t.put(cityName, own)
		t.put(ownShort, own)
	}
	for _, p := range dv.Provinces {
		isOwnProvince := p.Name == provinceName || (p.Short != "" && p.Short == provinceName)
		municipality := len(p.Cities) == 1 && p.Cities[0].Name == p.Name
		switch {
		case isOwnProvince:
			t.put(p.Name, place{kind: placeOwnProvince, name: p.Name})
			t.put(p.Short, place{kind: placeOwnProvince, name: p.Name, tier: tierBare})
		case municipality:
			// the city entry below covers it
		default:
			t.put(p.Name, place{kind: placeProvince, name: p.Name, tier: tierFull, fallback: tierNever})
			if p.Short != "" && p.Short != p.Name {
				t.put(p.Short, place{kind: placeProvince, name: p.Name, tier: shortTier(p.Short)})
			}
		}
		for _, c := range p.Cities {
			if c.Name == cityName {
				for _, n := range c.Counties {
					t.put(n, own)
					// 德州天衢新区 is also called 天衢新区.
					if rest, ok := strings.CutPrefix(n, c.Short); ok && c.Short != "" && utf8.RuneCountInString(rest) >= 3 {
						t.put(rest, own)
					}
				}
				continue
			}
			fb := tierNever
			if c.Short != "" {
				fb = shortTier(c.Short)
			}
			t.put(c.Name, place{kind: placeCity, name: c.Name, province: p.Name, tier: tierFull, fallback: fb})
			if c.Short != "" && c.Short != c.Name {
				t.put(c.Short, place{kind: placeCity, name: c.Name, province: p.Name, tier: shortTier(c.Short)})
			}
			for _, n := range c.Counties {
				switch {
				case generic[n]:
					t.put(n, place{kind: placeNeutral})
				case utf8.RuneCountInString(n) < 3:
					// 赵县, 城区: too short to be told from ordinary words
				default:
					t.put(n, place{kind: placeCity, name: c.Name, province: p.Name, tier: tierFull, fallback: tierNever})
				}
			}
		}
	}
	for _, w := range d.Places.Blockers {
		k := string(fold(w))
		if _, ok := t.byName[k]; !ok {
			t.put(k, place{kind: placeNeutral})
		}
	}
	for _, w := range d.Places.GenericNames {
		k := string(fold(w))
		if _, ok := t.byName[k]; !ok {
			t.put(k, place{kind: placeNeutral})
		}
	}
	return t, cityName, provinceName, nil
}
