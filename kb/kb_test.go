package kb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

const samplePath = "../configs/kb-sample.csv"

// loadSample parses the sample knowledge base and numbers it like the store
// would (ID = row number).
func loadSample(t testing.TB) []Entry {
	t.Helper()
	f, err := os.Open(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := Parse("kb-sample.csv", f)
	if err != nil {
		t.Fatal(err)
	}
	for i := range es {
		es[i].ID = int64(i + 1)
	}
	return es
}

func sampleIndex(t testing.TB) (*Index, []Entry) {
	t.Helper()
	es := loadSample(t)
	ix, err := NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	if err := ix.Replace(es); err != nil {
		t.Fatal(err)
	}
	return ix, es
}

func date(y int, m time.Month, d int) *time.Time {
	t := time.Date(y, m, d, 23, 59, 59, 0, CST)
	return &t
}

// ---- Parse: CSV ----

const csvText = "question,keywords,answer,unit,valid_until,external_id\n" +
	"如何提取住房公积金？,公积金提取;提取公积金，住房公积金、公积金|公积金提取,凭身份证办理,德州市住房公积金管理中心,2027-06-30,DZ-1\n" +
	"\"社保卡丢了，怎么补办？\", 社保卡 ; 补办 ,\"先挂失，\"\"再\"\"补卡\",德州市人力资源和社会保障局,,\n" +
	",,,,,\n" + // blank row: skipped
	"供暖时间,供暖,\"每年11月15日\n至次年3月15日\",市住建局,2027/3/5,DZ-3\n"

func wantCSV() []Entry {
	return []Entry{
		{ExternalID: "DZ-1", Question: "如何提取住房公积金？", Keywords: []string{"公积金提取", "提取公积金", "住房公积金", "公积金"}, Answer: "凭身份证办理", Unit: "德州市住房公积金管理中心", ValidUntil: date(2027, 6, 30)},
		{Question: "社保卡丢了，怎么补办？", Keywords: []string{"社保卡", "补办"}, Answer: "先挂失，\"再\"补卡", Unit: "德州市人力资源和社会保障局"},
		{ExternalID: "DZ-3", Question: "供暖时间", Keywords: []string{"供暖"}, Answer: "每年11月15日\n至次年3月15日", Unit: "市住建局", ValidUntil: date(2027, 3, 5)},
	}
}

func sameEntries(t *testing.T, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		gv, wv := g.ValidUntil, w.ValidUntil
		g.ValidUntil, w.ValidUntil = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i+1, g, w)
		}
		if (gv == nil) != (wv == nil) || (gv != nil && !gv.Equal(*wv)) {
			t.Errorf("entry %d: valid_until %v, want %v", i+1, gv, wv)
		}
	}
}

func TestParseCSV(t *testing.T) {
	for name, data := range map[string][]byte{
		"plain":    []byte(csvText),
		"bom":      append([]byte{0xEF, 0xBB, 0xBF}, csvText...),
		"crlf+bom": append([]byte{0xEF, 0xBB, 0xBF}, strings.ReplaceAll(csvText, "\n", "\r\n")...),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Parse("导入.CSV", bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if name == "crlf+bom" {
				got[2].Answer = strings.ReplaceAll(got[2].Answer, "\r\n", "\n")
			}
			sameEntries(t, got, wantCSV())
		})
	}
}

func TestParseCSVGBK(t *testing.T) {
	for name, enc := range map[string]interface{ Bytes([]byte) ([]byte, error) }{
		"gbk":     simplifiedchinese.GBK.NewEncoder(),
		"gb18030": simplifiedchinese.GB18030.NewEncoder(),
	} {
		t.Run(name, func(t *testing.T) {
			data, err := enc.Bytes([]byte(csvText))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(data, []byte(csvText)) {
				t.Fatal("encoder did not change the bytes")
			}
			got, err := Parse("excel.csv", bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			sameEntries(t, got, wantCSV())
		})
	}
}

func TestParseCSVHeaderVariants(t *testing.T) {
	// Any column order, Chinese names, no optional columns, trailing empty
	// columns as Excel writes them.
	data := "答复, 问题 ,关键词,,\n凭身份证办理,如何提取住房公积金？,公积金,,\n"
	got, err := Parse("kb.csv", strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sameEntries(t, got, []Entry{{Question: "如何提取住房公积金？", Keywords: []string{"公积金"}, Answer: "凭身份证办理"}})
}

func TestParseCSVErrors(t *testing.T) {
	cases := []struct {
		name, data string
		want       []string // substrings of the error
	}{
		{"empty", "", []string{"empty file"}},
		{"unknown column", "question,answr\nq,a\n", []string{"line 1", `unknown column "answr"`}},
		{"missing answer column", "question,keywords\nq,k\n", []string{"line 1", `missing column "answer"`}},
		{"duplicate column", "question,answer,问题\nq,a,q\n", []string{"line 1", "appears twice"}},
		{"bad rows", "question,keywords,answer,unit,valid_until,external_id\n" +
			"好问题,k,好答复,u,,\n" +
			",k,没有问题,u,,\n" + // line 3
			"没有答复,k,,u,,\n" + // line 4
			"日期不对,k,a,u,2026-13-01,\n" + // line 5
			"\"多行\n问题\",k,a,u,,X\n" + // lines 6-7
			"重复编号,k,a,u,,X\n" + // line 8
			"字段太多,k,a,u,,,多余\n", // line 9
			[]string{"line 3: question is empty", "line 4: answer is empty", `line 5: valid_until "2026-13-01"`,
				"line 8: duplicate external_id (first at line 6)", "line 9: 7 fields, but the header has 6"}},
		{"duplicate question", "question,answer\n同一个问题,a\n同一个问题,b\n", []string{"line 3: duplicate question (first at line 2)"}},
		{"too long", "question,answer,unit\nq,a," + strings.Repeat("单", 101) + "\n", []string{"line 2: unit longer than 100"}},
		{"bare quote", "question,answer\nq,a\nq2,a\"b\n", []string{"line 3", "bare \""}},
		{"not text", "question,answer\n\xff\xfe\xfd,a\n", []string{"neither UTF-8 nor GBK"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es, err := Parse("kb.csv", strings.NewReader(c.data))
			if err == nil {
				t.Fatalf("no error; entries %+v", es)
			}
			if es != nil {
				t.Errorf("entries returned with an error: %+v", es)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// Row errors are ParseErrors with the line.
	_, err := Parse("kb.csv", strings.NewReader("question,answer\nq,\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.Name != "kb.csv" {
		t.Errorf("want a ParseError at line 2, got %#v", err)
	}
	// Many bad rows: the error stays short.
	var b strings.Builder
	b.WriteString("question,answer\n")
	for range 50 {
		b.WriteString(",a\n")
	}
	_, err = Parse("kb.csv", strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "and 30 more bad rows") || strings.Count(err.Error(), "question is empty") != 20 {
		t.Errorf("50 bad rows: %v", err)
	}
}

func TestParseFileType(t *testing.T) {
	if _, err := Parse("kb.xlsx", strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "want .csv or .json") {
		t.Errorf("xlsx: %v", err)
	}
	if _, err := Parse("kb.csv", strings.NewReader("\xff\xfeq\x00")); err == nil || !strings.Contains(err.Error(), "UTF-16") {
		t.Errorf("utf-16: %v", err)
	}
}

// ---- Parse: JSON ----

func TestParseJSON(t *testing.T) {
	data := `[
	  {"external_id": "DZ-1", "question": "如何提取住房公积金？", "keywords": ["公积金提取", "提取公积金;住房公积金"],
	   "answer": "凭身份证办理", "unit": "德州市住房公积金管理中心", "valid_until": "2027-06-30"},
	  {"id": 7, "question": " 社保卡丢了怎么补办？ ", "keywords": "社保卡、补办", "answer": "先挂失再补卡",
	   "valid_until": "2027-01-02T10:00:00+08:00"},
	  {"question": "供暖时间", "answer": "11月15日", "keywords": null, "valid_until": ""}
	]`
	got, err := Parse("kb.json", strings.NewReader("\uFEFF"+data))
	if err != nil {
		t.Fatal(err)
	}
	rfc := time.Date(2027, 1, 2, 10, 0, 0, 0, CST)
	sameEntries(t, got, []Entry{
		{ExternalID: "DZ-1", Question: "如何提取住房公积金？", Keywords: []string{"公积金提取", "提取公积金", "住房公积金"}, Answer: "凭身份证办理", Unit: "德州市住房公积金管理中心", ValidUntil: date(2027, 6, 30)},
		{ID: 7, Question: "社保卡丢了怎么补办？", Keywords: []string{"社保卡", "补办"}, Answer: "先挂失再补卡", ValidUntil: &rfc},
		{Question: "供暖时间", Answer: "11月15日"},
	})
}

func TestParseJSONErrors(t *testing.T) {
	cases := []struct{ name, data, want string }{
		{"not an array", `{"question": "q"}`, "want a JSON array"},
		{"syntax", "[\n{\"question\": \"q\",\n}]", "line 3"},
		{"missing answer", `[{"question":"q","answer":"a"},{"question":"q2"}]`, "record 2: answer is empty"},
		{"unknown field", `[{"question":"q","answer":"a","valid_untill":"2027-01-01"}]`, `record 1: json: unknown field "valid_untill"`},
		{"bad date", `[{"question":"q","answer":"a","valid_until":"明年"}]`, `record 1: valid_until "明年"`},
		{"bad keywords", `[{"question":"q","answer":"a","keywords":3}]`, "record 1: keywords"},
		{"duplicate", `[{"external_id":"A","question":"q","answer":"a"},{"external_id":"A","question":"q2","answer":"a"}]`, "record 2: duplicate external_id (first at record 1)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("kb.json", strings.NewReader(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestParseValidUntil(t *testing.T) {
	got, err := ParseValidUntil("2026-12-31")
	if err != nil {
		t.Fatal(err)
	}
	// Valid through the whole of that day in China.
	if want := time.Date(2026, 12, 31, 15, 59, 59, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	e := Entry{ValidUntil: got}
	if e.Expired(time.Date(2026, 12, 31, 23, 0, 0, 0, CST)) || !e.Expired(time.Date(2027, 1, 1, 0, 0, 0, 0, CST)) {
		t.Error("a date-only valid_until must end at midnight CST")
	}
}

func TestSampleFile(t *testing.T) {
	es := loadSample(t)
	if len(es) < 30 {
		t.Errorf("sample has %d entries, want about 30", len(es))
	}
	for _, e := range es {
		if e.Unit == "" || len(e.Keywords) == 0 || e.ExternalID == "" {
			t.Errorf("sample entry lacks unit, keywords or external_id: %+v", e)
		}
		if strings.HasSuffix(e.Answer, "。") {
			t.Errorf("%s: the SMS template adds the final 。 itself", e.ExternalID)
		}
	}
}

// ---- Index ----

func TestSearchFindsTheRelevantEntryFirst(t *testing.T) {
	ix, _ := sampleIndex(t)
	for q, want := range map[string]string{
		"怎么提取住房公积金":   "DZKB-0001",
		"社保卡丢了怎么办":    "DZKB-0004",
		"居住证怎么办":      "DZKB-0007",
		"新生儿落户需要什么材料": "DZKB-0010",
		"驾驶证到期了去哪换":   "DZKB-0013",
		"今年什么时候开始供暖":  "DZKB-0019",
		"二手房过户要带什么":   "DZKB-0021",
		"异地就医备案":      "DZKB-0015",
		"个人所得税汇算":     "DZKB-0025",
		"垃圾分类怎么分":     "DZKB-0028",
		"ＡＰＰ怎么办护照":    "DZKB-0011", // full-width Latin is folded
		"公积金贷款额度是多少？": "DZKB-0002",
	} {
		hits, err := ix.Search(q, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || hits[0].Entry.ExternalID != want {
			t.Errorf("%s: want %s first, got %s", q, want, describe(hits))
			continue
		}
		for i, h := range hits {
			if h.Score < 0 || h.Score > 1 {
				t.Errorf("%s: score %v out of 0..1", q, h.Score)
			}
			if i > 0 && h.Score > hits[i-1].Score {
				t.Errorf("%s: hits not ordered by score: %s", q, describe(hits))
			}
		}
	}
	if hits, err := ix.Search("   ", 5); err != nil || len(hits) != 0 {
		t.Errorf("blank query: %v %v", hits, err)
	}
	if hits, _ := ix.Search("公积金", 2); len(hits) != 2 {
		t.Errorf("n not honoured: %s", describe(hits))
	}
}

func TestScoreIsBounded(t *testing.T) {
	ix, es := sampleIndex(t)
	for _, e := range es {
		if e.Expired(time.Now()) {
			continue
		}
		// The entry's own question and keywords are a near-perfect query
		// (keyword-only terms weigh half on the entry's side).
		hits, _ := ix.Search(e.Question+" "+strings.Join(e.Keywords, " "), 1)
		if len(hits) == 0 || hits[0].Entry.ID != e.ID || hits[0].Score < 0.9 || hits[0].Score > 1 {
			t.Errorf("%s against itself: %s", e.ExternalID, describe(hits))
		}
		hits, _ = ix.Search(e.Question, 1)
		if len(hits) == 0 || hits[0].Entry.ID != e.ID || hits[0].Score < 0.6 {
			t.Errorf("%s by its question: %s", e.ExternalID, describe(hits))
		}
	}
}

func TestAnswerIsConservative(t *testing.T) {
	ix, _ := sampleIndex(t)
	confident := map[string]string{
		"怎么提取住房公积金":       "DZKB-0001",
		"社保卡丢了怎么办":        "DZKB-0004",
		"您好，请问供暖时间是什么时候？": "DZKB-0019",
		"身份证丢了怎么补办":       "DZKB-0008",
		"异地就医备案怎么弄":       "DZKB-0015",
		"护照怎么办":           "DZKB-0011",
		"新生儿落户需要什么材料":     "DZKB-0010",
	}
	for text, want := range confident {
		h, ok := ix.Answer(text, DefaultMinScore)
		if !ok || h.Entry.ExternalID != want {
			hits, _ := ix.Search(text, 3)
			t.Errorf("%s: want a confident %s, got ok=%v %s (search: %s)", text, want, ok, h.Entry.ExternalID, describe(hits))
		}
	}
	for _, text := range []string{
		"楼下烧烤噪音太大了",                       // unrelated complaint
		"小区门口修路太吵，晚上十点还在施工",               // unrelated complaint
		"公积金中心工作人员态度恶劣，我去提取公积金三次都没办成，要投诉", // a complaint that mentions the keyword
		"我家暖气不热，物业也不管，已经一个星期了",            // complaint, not the how-to
		"你好",         // vague
		"请问一下",       // vague
		"我想咨询个事情",    // vague
		"公积金",        // one word: which of three entries?
		"公积金贷款利率是多少", // another question on the entry's topic
		"社保卡怎么激活",    // another question on the entry's topic
		"您好，我在德城区上班，公司交了五年公积金，现在想买房，请问怎么提取住房公积金，需要带什么材料？", // a long story: for an agent
		"12345", // a number
		"",
		"德城区停水什么时候来水", // the only entry is expired
	} {
		if h, ok := ix.Answer(text, DefaultMinScore); ok {
			t.Errorf("%q must not be answered automatically, got %s (%.3f)", text, h.Entry.ExternalID, h.Score)
		}
	}
	// minScore is honoured.
	if _, ok := ix.Answer("怎么提取住房公积金", 0.99); ok {
		t.Error("answered below minScore")
	}
}

func TestAnswerNeedsALiteralKeyword(t *testing.T) {
	ix, err := NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	err = ix.Replace([]Entry{
		{ID: 1, Question: "如何提取住房公积金", Keywords: []string{"公积金提取"}, Answer: "a"},
		{ID: 2, Question: "社保卡怎么补办", Answer: "b"}, // no keywords: never automatic
		{ID: 3, Question: "ETC怎么办理", Keywords: []string{"etc"}, Answer: "c"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := ix.Answer("如何提取住房公积金", 0.3); ok {
		t.Errorf("the question matches but no keyword occurs in the text: got %+v", h)
	}
	if _, ok := ix.Answer("如何提取住房公积金（公积金提取）", 0.3); !ok {
		t.Error("with the keyword in the text it should answer")
	}
	if h, ok := ix.Answer("社保卡怎么补办", 0.1); ok {
		t.Errorf("an entry without keywords was answered: %+v", h)
	}
	if h, ok := ix.Answer("ＥＴＣ怎么办理", 0.3); !ok || h.Entry.ID != 3 {
		t.Errorf("keyword check must fold case and width: %+v %v", h, ok)
	}
}

func TestExpiredEntriesAreNeverReturned(t *testing.T) {
	ix, err := NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	past := time.Now().Add(-time.Hour)
	soon := time.Now().Add(300 * time.Millisecond)
	later := time.Now().Add(24 * time.Hour)
	err = ix.Replace([]Entry{
		{ID: 1, Question: "德城区停水通知", Keywords: []string{"停水"}, Answer: "旧通知", ValidUntil: &past},
		{ID: 2, Question: "德城区停电通知", Keywords: []string{"停电"}, Answer: "快过期", ValidUntil: &soon},
		{ID: 3, Question: "德城区停气通知", Keywords: []string{"停气"}, Answer: "有效", ValidUntil: &later},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 2 {
		t.Errorf("Len = %d, want 2 (the expired entry is not indexed)", ix.Len())
	}
	ids := func(q string) []int64 {
		hits, err := ix.Search(q, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, h := range hits {
			out = append(out, h.Entry.ID)
		}
		return out
	}
	if got := ids("德城区停水"); contains(got, 1) {
		t.Errorf("expired entry returned: %v", got)
	}
	if got := ids("德城区停电"); !contains(got, 2) {
		t.Errorf("still valid entry missing: %v", got)
	}
	if _, ok := ix.Answer("德城区停电通知", 0.5); !ok {
		t.Error("still valid entry not answered")
	}
	time.Sleep(time.Until(soon) + 50*time.Millisecond)
	if got := ids("德城区停电"); contains(got, 2) {
		t.Errorf("entry returned after it expired at query time: %v", got)
	}
	if h, ok := ix.Answer("德城区停电通知", 0.1); ok && h.Entry.ID == 2 {
		t.Error("expired entry answered")
	}
	// Upserting an expired version removes the entry; a valid one brings it back.
	if err := ix.Upsert(Entry{ID: 3, Question: "德城区停气通知", Keywords: []string{"停气"}, Answer: "x", ValidUntil: &past}); err != nil {
		t.Fatal(err)
	}
	if got := ids("德城区停气"); contains(got, 3) {
		t.Errorf("entry upserted as expired still returned: %v", got)
	}
	if err := ix.Upsert(Entry{ID: 1, Question: "德城区停水通知", Keywords: []string{"停水"}, Answer: "新通知", ValidUntil: &later}); err != nil {
		t.Fatal(err)
	}
	if hits, _ := ix.Search("德城区停水", 1); len(hits) != 1 || hits[0].Entry.Answer != "新通知" {
		t.Errorf("renewed entry: %s", describe(hits))
	}
}

func TestUpsertAndDelete(t *testing.T) {
	ix, es := sampleIndex(t)
	n := ix.Len()
	if n != len(es)-1 { // DZKB-0033 (停水通知) expired in March 2026
		t.Errorf("Len = %d, want %d", n, len(es)-1)
	}
	gjj := es[0]
	gjj.Answer = "新的答复"
	gjj.Keywords = []string{"公积金提取"}
	if err := ix.Upsert(gjj, Entry{ID: 1000, Question: "ETC怎么办理", Keywords: []string{"ETC"}, Answer: "到合作银行办理"}); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != n+1 {
		t.Errorf("Len after upsert = %d, want %d", ix.Len(), n+1)
	}
	hits, _ := ix.Search("怎么提取住房公积金", 1)
	if len(hits) != 1 || hits[0].Entry.Answer != "新的答复" || !reflect.DeepEqual(hits[0].Entry.Keywords, []string{"公积金提取"}) {
		t.Errorf("updated entry: %s", describe(hits))
	}
	if hits, _ := ix.Search("etc", 1); len(hits) != 1 || hits[0].Entry.ID != 1000 {
		t.Errorf("new entry: %s", describe(hits))
	}
	if err := ix.Delete(1000, gjj.ID, 424242); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != n-1 {
		t.Errorf("Len after delete = %d, want %d", ix.Len(), n-1)
	}
	for _, h := range mustSearch(t, ix, "怎么提取住房公积金 ETC") {
		if h.Entry.ID == 1000 || h.Entry.ID == gjj.ID {
			t.Errorf("deleted entry returned: %+v", h.Entry)
		}
	}
	// Returned entries are copies.
	hits = mustSearch(t, ix, "社保卡丢了怎么办")
	hits[0].Entry.Keywords[0] = "改掉"
	if again := mustSearch(t, ix, "社保卡丢了怎么办"); again[0].Entry.Keywords[0] == "改掉" {
		t.Error("a hit shares its keywords with the index")
	}
	if err := ix.Upsert(Entry{Question: "q", Answer: "a"}); err == nil {
		t.Error("an entry without ID was accepted")
	}
	if err := ix.Replace(nil); err != nil || ix.Len() != 0 {
		t.Errorf("Replace(nil): %v, Len %d", err, ix.Len())
	}
	if hits := mustSearch(t, ix, "社保卡"); len(hits) != 0 {
		t.Errorf("empty index returned %s", describe(hits))
	}
}

func TestConcurrentSearchDuringReplace(t *testing.T) {
	ix, es := sampleIndex(t)
	var (
		stop     atomic.Bool
		searches atomic.Int64
		wg       sync.WaitGroup
		errs     = make(chan error, 16)
	)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				hits, err := ix.Search("怎么提取住房公积金", 3)
				if err != nil {
					report(err)
					return
				}
				// Every generation holds the entry, so it is always found.
				if len(hits) == 0 || hits[0].Entry.ExternalID != "DZKB-0001" {
					report(fmt.Errorf("search during rebuild: %s", describe(hits)))
					return
				}
				if h, ok := ix.Answer("社保卡丢了怎么办", DefaultMinScore); !ok || h.Entry.ExternalID != "DZKB-0004" {
					report(fmt.Errorf("answer during rebuild: %v %+v", ok, h))
					return
				}
				_ = ix.Len()
				searches.Add(1)
			}
		})
	}
	for i := range 20 {
		// Alternate between the full list and a shuffled subset that keeps the
		// two entries the readers look for; upsert and delete others meanwhile.
		sub := append([]Entry{es[0], es[3]}, es[5+i%10:]...)
		if err := ix.Replace(sub); err != nil {
			t.Fatal(err)
		}
		extra := Entry{ID: int64(5000 + i), Question: fmt.Sprintf("临时条目%d", i), Keywords: []string{"临时"}, Answer: "x"}
		if err := ix.Upsert(extra, es[0]); err != nil {
			t.Fatal(err)
		}
		if err := ix.Delete(extra.ID); err != nil {
			t.Fatal(err)
		}
		if err := ix.Replace(es); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if searches.Load() == 0 {
		t.Error("no search ran during the rebuilds")
	}
	t.Logf("%d searches during 40 rebuilds", searches.Load())
}

func TestClosed(t *testing.T) {
	ix, err := NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Search("公积金", 3); err == nil {
		t.Error("search on a closed index")
	}
	if _, ok := ix.Answer("公积金", 0); ok {
		t.Error("answer on a closed index")
	}
	if err := ix.Replace(nil); err == nil {
		t.Error("replace on a closed index")
	}
	if ix.Len() != 0 || ix.Close() != nil {
		t.Error("closed index")
	}
}

func mustSearch(t *testing.T, ix *Index, q string) []Hit {
	t.Helper()
	hits, err := ix.Search(q, 10)
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func describe(hits []Hit) string {
	var b strings.Builder
	for _, h := range hits {
		fmt.Fprintf(&b, "[%s %.3f %s] ", h.Entry.ExternalID, h.Score, h.Entry.Question)
	}
	if len(hits) == 0 {
		return "no hits"
	}
	return b.String()
}

// ---- fuzz and benchmark ----

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(csvText))
	f.Add(append([]byte{0xEF, 0xBB, 0xBF}, csvText...))
	if gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(csvText)); err == nil {
		f.Add(gbk)
	}
	if sample, err := os.ReadFile(samplePath); err == nil {
		f.Add(sample)
	}
	f.Add([]byte("question,answer\n\"q\nq\",a\n"))
	f.Add([]byte("问题,答复,有效期\nq,a,2026-2-30\n"))
	f.Add([]byte("question,answer\n,\n\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := Parse("fuzz.csv", bytes.NewReader(data))
		if err != nil {
			if es != nil {
				t.Fatalf("entries and an error: %v", err)
			}
			return
		}
		for _, e := range es {
			if e.Question == "" || e.Answer == "" {
				t.Fatalf("entry without question or answer: %+v", e)
			}
			for _, k := range e.Keywords {
				if k == "" || strings.ContainsAny(k, ",;|、，") {
					t.Fatalf("bad keyword %q", k)
				}
			}
		}
	})
}

func BenchmarkAnswer(b *testing.B) {
	ix, _ := sampleIndex(b)
	texts := []string{
		"怎么提取住房公积金",
		"社保卡丢了怎么办",
		"楼下烧烤噪音太大了",
		"您好，我在德城区上班，公司交了五年公积金，现在想买房，请问怎么提取住房公积金，需要带什么材料？",
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		ix.Answer(texts[i%len(texts)], DefaultMinScore)
		i++
	}
}
