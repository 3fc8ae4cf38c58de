package kb

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Limits of the stored columns (store.KBEntry); Parse checks them so that an
// import fails with the row number rather than in the database.
const (
	MaxExternalID = 64  // characters
	MaxUnit       = 100 // characters
	MaxKeywords   = 500 // characters of the keywords joined with ","
	// MaxFileSize bounds an import file.
	MaxFileSize = 64 << 20
	// maxErrors is how many bad rows one error reports before "and N more".
	maxErrors = 20
)

// CST is China Standard Time (no daylight saving), in which date-only
// valid_until values are read.
var CST = time.FixedZone("CST", 8*3600)

// ParseError is one bad row of an import file: Line (CSV, 1-based line in the
// file where the record starts) or Record (JSON, 1-based index in the array).
type ParseError struct {
	Name   string
	Line   int
	Record int
	Err    error
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s: line %d: %v", e.Name, e.Line, e.Err)
	case e.Record > 0:
		return fmt.Sprintf("%s: record %d: %v", e.Name, e.Record, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Name, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads an import file, chosen by the extension of name:
//
//   - .csv: a header row then one entry per row. Columns (any order, names
//     case-insensitive; the Chinese names in brackets are accepted too):
//     question [问题] and answer [答案, 答复] are required; keywords [关键词],
//     unit [单位, 承办单位], valid_until [有效期, 有效期至], external_id [编号]
//     are optional. Keywords are separated by ; ； ， 、 | or ",". valid_until
//     is YYYY-MM-DD (also YYYY/M/D as Excel writes it, or RFC 3339) or empty.
//     UTF-8 with or without BOM, or GBK/GB18030 (assumed when the bytes are not
//     valid UTF-8, as Excel saves CSV on a Chinese Windows).
//   - .json: an array of Entry objects; valid_until "YYYY-MM-DD" or RFC 3339;
//     keywords an array of strings or one string with the separators above.
//
// Question and answer must not be empty, the column limits (MaxExternalID,
// MaxUnit, MaxKeywords) hold, and no two entries may share an external_id (or,
// without one, a question): that is the key store.UpsertKB matches on. Any bad
// row fails the whole file; the error lists up to 20 bad rows (as ParseErrors
// joined with errors.Join). Blank CSV rows are skipped.
func Parse(name string, r io.Reader) ([]Entry, error) {
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".csv" && ext != ".json" {
		return nil, fmt.Errorf("%s: unsupported file type %q: want .csv or .json", name, ext)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: file larger than %d MiB", name, MaxFileSize>>20)
	}
	text, err := decodeText(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if ext == ".csv" {
		return parseCSV(name, text)
	}
	return parseJSON(name, text)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decodeText returns the file as UTF-8: UTF-8 (BOM dropped) as it is, anything
// else decoded as GB18030 (a superset of GBK and GB2312).
func decodeText(data []byte) (string, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if utf8.Valid(data) {
		return string(data), nil
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return "", errors.New("UTF-16 text is not supported: save the file as \"CSV UTF-8\" or CSV")
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil || bytes.ContainsRune(out, utf8.RuneError) {
		return "", errors.New("the file is neither UTF-8 nor GBK/GB18030 text")
	}
	return string(out), nil
}

// errList collects row errors up to maxErrors.
type errList struct {
	errs []error
	more int
}

func (l *errList) add(e *ParseError) {
	if len(l.errs) < maxErrors {
		l.errs = append(l.errs, e)
	} else {
		l.more++
	}
}

func (l *errList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	errs := l.errs
	if l.more > 0 {
		errs = append(errs, fmt.Errorf("and %d more bad rows", l.more))
	}
	return errors.Join(errs...)
}

var columnNames = map[string]string{
	"question": "question", "问题": "question",
	"keywords": "keywords", "keyword": "keywords", "关键词": "keywords", "关键字": "keywords",
	"answer": "answer", "答案": "answer", "答复": "answer",
	"unit": "unit", "单位": "unit", "承办单位": "unit",
	"valid_until": "valid_until", "validuntil": "valid_until", "有效期": "valid_until", "有效期至": "valid_until",
	"external_id": "external_id", "externalid": "external_id", "编号": "external_id",
}

func parseCSV(name, text string) ([]Entry, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true

	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file: want a header row question,keywords,answer,unit,valid_until[,external_id]", name)
	}
	if err != nil {
		return nil, csvErr(name, err)
	}
	cols := make([]string, len(header)) // column index -> field name ("" ignored)
	have := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.Join(strings.Fields(strings.TrimPrefix(h, "\uFEFF")), ""))
		if h == "" {
			continue // Excel's trailing empty columns
		}
		f, ok := columnNames[h]
		if !ok {
			return nil, &ParseError{Name: name, Line: 1, Err: fmt.Errorf("unknown column %q: want question,keywords,answer,unit,valid_until[,external_id]", header[i])}
		}
		if _, dup := have[f]; dup {
			return nil, &ParseError{Name: name, Line: 1, Err: fmt.Errorf("column %q appears twice", header[i])}
		}
		have[f] = i
		cols[i] = f
	}
	for _, req := range []string{"question", "answer"} {
		if _, ok := have[req]; !ok {
			return nil, &ParseError{Name: name, Line: 1, Err: fmt.Errorf("missing column %q", req)}
		}
	}

	var (
		out  []Entry
		errs errList
		keys = map[string]int{}
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A quoting error: the reader cannot resynchronize reliably, so
			// report it with the rows found bad so far and stop.
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				errs.add(&ParseError{Name: name, Line: pe.StartLine, Err: pe.Err})
				return nil, errs.err()
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(rec) > len(header) {
			extra := rec[len(header):]
			if !blank(extra) {
				errs.add(&ParseError{Name: name, Line: line, Err: fmt.Errorf("%d fields, but the header has %d (a comma inside a field needs \"quotes\")", len(rec), len(header))})
				continue
			}
		}
		var e Entry
		var rowErr error
		for i, v := range rec {
			if i >= len(cols) || cols[i] == "" {
				continue
			}
			v = strings.TrimSpace(v)
			switch cols[i] {
			case "question":
				e.Question = v
			case "answer":
				e.Answer = v
			case "keywords":
				e.Keywords = SplitKeywords(v)
			case "unit":
				e.Unit = v
			case "external_id":
				e.ExternalID = v
			case "valid_until":
				t, err := ParseValidUntil(v)
				if err != nil {
					rowErr = err
				}
				e.ValidUntil = t
			}
		}
		if rowErr == nil {
			rowErr = validate(&e)
		}
		if rowErr == nil {
			rowErr = checkKey(keys, e, line, "line")
		}
		if rowErr != nil {
			errs.add(&ParseError{Name: name, Line: line, Err: rowErr})
			continue
		}
		out = append(out, e)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return out, nil
}

func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Name: name, Line: pe.StartLine, Err: pe.Err}
	}
	return fmt.Errorf("%s: %w", name, err)
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// jsonEntry is Entry as it may appear in an import file.
type jsonEntry struct {
	ID         int64           `json:"id"`
	ExternalID string          `json:"external_id"`
	Question   string          `json:"question"`
	Keywords   json.RawMessage `json:"keywords"`
	Answer     string          `json:"answer"`
	Unit       string          `json:"unit"`
	ValidUntil *string         `json:"valid_until"`
}

func parseJSON(name, text string) ([]Entry, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(text), &raws); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(text[:min(int(se.Offset), len(text))], "\n")
			return nil, fmt.Errorf("%s: line %d: %v", name, line, err)
		}
		return nil, fmt.Errorf("%s: want a JSON array of entries: %v", name, err)
	}
	var (
		out  []Entry
		errs errList
		keys = map[string]int{}
	)
	for i, raw := range raws {
		rec := i + 1
		e, err := decodeJSONEntry(raw)
		if err == nil {
			err = validate(&e)
		}
		if err == nil {
			err = checkKey(keys, e, rec, "record")
		}
		if err != nil {
			errs.add(&ParseError{Name: name, Record: rec, Err: err})
			continue
		}
		out = append(out, e)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return out, nil
}

func decodeJSONEntry(raw json.RawMessage) (Entry, error) {
	var je jsonEntry
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&je); err != nil {
		return Entry{}, err
	}
	e := Entry{
		ID:         je.ID,
		ExternalID: strings.TrimSpace(je.ExternalID),
		Question:   strings.TrimSpace(je.Question),
		Answer:     strings.TrimSpace(je.Answer),
		Unit:       strings.TrimSpace(je.Unit),
	}
	if kw := bytes.TrimSpace(je.Keywords); len(kw) > 0 && !bytes.Equal(kw, []byte("null")) {
		var list []string
		var one string
		switch {
		case json.Unmarshal(kw, &list) == nil:
			for _, k := range list {
				e.Keywords = append(e.Keywords, SplitKeywords(k)...)
			}
			e.Keywords = dedupKeywords(e.Keywords)
		case json.Unmarshal(kw, &one) == nil:
			e.Keywords = SplitKeywords(one)
		default:
			return Entry{}, errors.New("keywords: want an array of strings or a string")
		}
	}
	if je.ValidUntil != nil {
		t, err := ParseValidUntil(*je.ValidUntil)
		if err != nil {
			return Entry{}, err
		}
		e.ValidUntil = t
	}
	return e, nil
}

// validate checks an entry's required fields and column limits.
func validate(e *Entry) error {
	switch {
	case e.Question == "":
		return errors.New("question is empty")
	case e.Answer == "":
		return errors.New("answer is empty")
	case utf8.RuneCountInString(e.ExternalID) > MaxExternalID:
		return fmt.Errorf("external_id longer than %d characters", MaxExternalID)
	case utf8.RuneCountInString(e.Unit) > MaxUnit:
		return fmt.Errorf("unit longer than %d characters", MaxUnit)
	case utf8.RuneCountInString(strings.Join(e.Keywords, ",")) > MaxKeywords:
		return fmt.Errorf("keywords longer than %d characters in all", MaxKeywords)
	}
	return nil
}

// checkKey rejects a second entry with the same external_id (or, without one,
// the same question) as an earlier one in the file.
func checkKey(keys map[string]int, e Entry, pos int, unit string) error {
	key, what := "q:"+e.Question, "question"
	if e.ExternalID != "" {
		key, what = "x:"+e.ExternalID, "external_id"
	}
	if first, dup := keys[key]; dup {
		return fmt.Errorf("duplicate %s (first at %s %d)", what, unit, first)
	}
	keys[key] = pos
	return nil
}

// SplitKeywords splits a keyword list on ; ； ， 、 | and ",", trimming spaces
// and dropping empty and repeated keywords.
func SplitKeywords(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ';', '；', '，', '、', '|', ',', '｜':
			return true
		}
		return false
	})
	return dedupKeywords(parts)
}

func dedupKeywords(ks []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range ks {
		k = strings.TrimSpace(k)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, k)
	}
	return out
}

var dateLayouts = []string{"2006-1-2", "2006/1/2", "2006.1.2"}

// ParseValidUntil reads a valid_until value: "" is nil (no end); a date
// (YYYY-MM-DD, or YYYY/M/D) means through the end of that day in CST, returned
// as 23:59:59 +08:00; RFC 3339 is taken as it is.
func ParseValidUntil(s string) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, l := range dateLayouts {
		if d, err := time.ParseInLocation(l, s, CST); err == nil {
			t := d.Add(24*time.Hour - time.Second)
			return &t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return &t, nil
	}
	return nil, fmt.Errorf("valid_until %q: want YYYY-MM-DD or RFC 3339", s)
}
