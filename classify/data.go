package classify

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"

	"hotline/ticket"
)

// Data is the parsed classify.yaml: every keyword list the classifier uses. See the
// comments in configs/classify.yaml for the meaning of each list.
type Data struct {
	Version         int           `yaml:"version"`
	DefaultCategory string        `yaml:"default_category"`
	DefaultNature   ticket.Nature `yaml:"default_nature"`
	DefaultMinChars int           `yaml:"default_min_chars"`
	Categories      []Category    `yaml:"categories"`
	Natures         []NatureRule  `yaml:"natures"`
	Thanks          Thanks        `yaml:"thanks"`
	Incomplete      Incomplete    `yaml:"incomplete"`
	Provincial      Provincial    `yaml:"provincial"`
	Places          Places        `yaml:"places"`
}

// Category is one content category (内容分类). Standard holds the standard's own
// terms, Extra the everyday words; both count the same.
type Category struct {
	Name     string   `yaml:"name"`
	Standard []string `yaml:"standard"`
	Extra    []string `yaml:"extra"`
}

// NatureRule is one entry of the ordered nature rules: the first rule with a hit
// decides the nature.
type NatureRule struct {
	Nature   ticket.Nature `yaml:"nature"`
	Note     string        `yaml:"note"`
	ThanksOK bool          `yaml:"thanks_ok"`
	Keywords []string      `yaml:"keywords"`
}

// Thanks holds the thanks phrases and the "problem solved" phrases.
type Thanks struct {
	Keywords []string `yaml:"keywords"`
	Resolved []string `yaml:"resolved"`
}

// Incomplete holds the words that state no matter (greetings, "在吗", "我要反映").
type Incomplete struct {
	Fillers []string `yaml:"fillers"`
}

// Provincial lists the matters of the province.
type Provincial struct {
	Place         string             `yaml:"place"`
	DefaultTarget string             `yaml:"default_target"`
	Matters       []ProvincialMatter `yaml:"matters"`
}

// ProvincialMatter maps keywords to the provincial body to contact. Target and
// Keywords may contain {province} and {province_short}.
type ProvincialMatter struct {
	Target   string   `yaml:"target"`
	Keywords []string `yaml:"keywords"`
}

// Places tunes the recognition of place names from divisions.json.
type Places struct {
	WellKnown    []string `yaml:"well_known"`
	CommonWords  []string `yaml:"common_words"`
	ContextAfter []string `yaml:"context_after"`
	RejectAfter  []string `yaml:"reject_after"`
	RejectBefore []string `yaml:"reject_before"`
	GenericNames []string `yaml:"generic_names"`
	Blockers     []string `yaml:"blockers"`
}

// ParseData parses and checks a classify.yaml document. Unknown keys are errors, so
// that a misspelt list in a replacement file is not silently ignored.
func ParseData(doc []byte) (*Data, error) {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	var d Data
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("classify data: empty document")
		}
		return nil, fmt.Errorf("classify data: %w", err)
	}
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("classify data: %w", err)
	}
	return &d, nil
}

func validNature(n ticket.Nature) bool {
	switch n {
	case ticket.Consult, ticket.Help, ticket.Suggestion, ticket.Complaint:
		return true
	}
	return false
}

// check validates the data: names present, natures valid, no keyword that
// normalises to nothing, and no keyword claimed by two categories, two nature rules
// or two provincial matters (the result would depend on an accident of order).
func (d *Data) check() error {
	if len(d.Categories) == 0 {
		return errors.New("no categories")
	}
	names := map[string]bool{}
	owner := map[string]string{}
	for _, c := range d.Categories {
		if c.Name == "" {
			return errors.New("category without a name")
		}
		if names[c.Name] {
			return fmt.Errorf("category %q listed twice", c.Name)
		}
		names[c.Name] = true
		if len(c.Standard)+len(c.Extra) == 0 {
			return fmt.Errorf("category %q has no keywords", c.Name)
		}
		for _, kw := range append(append([]string{}, c.Standard...), c.Extra...) {
			k, err := key(kw)
			if err != nil {
				return fmt.Errorf("category %q: %w", c.Name, err)
			}
			if o, ok := owner[k]; ok && o != c.Name {
				return fmt.Errorf("keyword %q is in both %q and %q", kw, o, c.Name)
			}
			owner[k] = c.Name
		}
	}
	if !names[d.DefaultCategory] {
		return fmt.Errorf("default_category %q is not a category", d.DefaultCategory)
	}
	if !validNature(d.DefaultNature) {
		return fmt.Errorf("default_nature %q is not consult, help, suggestion or complaint", d.DefaultNature)
	}
	if d.DefaultMinChars < 0 {
		return errors.New("default_min_chars is negative")
	}
	owner = map[string]string{}
	for i, r := range d.Natures {
		if !validNature(r.Nature) {
			return fmt.Errorf("natures[%d]: nature %q is not consult, help, suggestion or complaint", i, r.Nature)
		}
		if len(r.Keywords) == 0 {
			return fmt.Errorf("natures[%d] has no keywords", i)
		}
		id := fmt.Sprintf("natures[%d]", i)
		for _, kw := range r.Keywords {
			k, err := key(kw)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			if o, ok := owner[k]; ok && o != id {
				return fmt.Errorf("keyword %q is in both %s and %s", kw, o, id)
			}
			owner[k] = id
		}
	}
	for _, list := range [][]string{d.Thanks.Keywords, d.Thanks.Resolved, d.Incomplete.Fillers,
		d.Places.WellKnown, d.Places.CommonWords, d.Places.ContextAfter, d.Places.RejectAfter,
		d.Places.RejectBefore, d.Places.GenericNames, d.Places.Blockers} {
		for _, kw := range list {
			if _, err := key(kw); err != nil {
				return err
			}
		}
	}
	if len(d.Thanks.Keywords) == 0 {
		return errors.New("thanks.keywords is empty")
	}
	common := map[string]bool{}
	for _, w := range d.Places.CommonWords {
		common[w] = true
	}
	for _, w := range d.Places.WellKnown {
		if common[w] {
			return fmt.Errorf("places: %q is in both well_known and common_words", w)
		}
	}
	owner = map[string]string{}
	for i, m := range d.Provincial.Matters {
		if m.Target == "" {
			return fmt.Errorf("provincial.matters[%d] has no target", i)
		}
		id := fmt.Sprintf("provincial.matters[%d]", i)
		for _, kw := range m.Keywords {
			k, err := key(kw)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			if o, ok := owner[k]; ok && o != id {
				return fmt.Errorf("keyword %q is in both %s and %s", kw, o, id)
			}
			owner[k] = id
		}
	}
	return nil
}

// key is the normalised form of a keyword, or an error when nothing is left.
func key(kw string) (string, error) {
	k := string(fold(kw))
	if k == "" {
		return "", fmt.Errorf("keyword %q is empty after normalisation", kw)
	}
	return k, nil
}
