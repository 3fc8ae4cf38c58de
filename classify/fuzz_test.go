package classify

import (
	"reflect"
	"slices"
	"testing"

	"hotline/ticket"
)

// FuzzClassify: no panic on any input, the result always has a valid nature and
// one of the nine categories, the flags are consistent, and the same text always
// gives the same result.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"", "你好", "？？？", "13812345678", "谢谢，我家楼下路灯坏了", "路灯不亮了",
		"北京市朝阳区某公司拖欠工资", "省人社厅的社保缴费基数怎么查", "ＫＴＶ噪音扰民😭😭",
		"济南市场监管局", "\xff\xfe无效UTF-8\xc3", "明天津贴", "德州天衢新区", "\u200b\u3000",
	} {
		f.Add(s)
	}
	c := newDezhou(f, 6)
	nine := c.Categories()
	f.Fuzz(func(t *testing.T, text string) {
		r := c.Classify(text)
		switch r.Nature {
		case ticket.Consult, ticket.Help, ticket.Suggestion, ticket.Complaint:
		default:
			t.Fatalf("%q: nature %q", text, r.Nature)
		}
		if !slices.Contains(nine, r.Category) || len(nine) != 9 {
			t.Fatalf("%q: category %q", text, r.Category)
		}
		if r.Keywords == nil {
			t.Fatalf("%q: nil keywords", text)
		}
		if r.Thanks && (r.Incomplete || r.Suggestion || r.OutOfRemit != nil) {
			t.Fatalf("%q: thanks with other flags %+v", text, r)
		}
		if r.Incomplete && (r.Suggestion || r.OutOfRemit != nil) {
			t.Fatalf("%q: incomplete with other flags %+v", text, r)
		}
		if r.Suggestion != (r.Nature == ticket.Suggestion && !r.Thanks && !r.Incomplete) {
			t.Fatalf("%q: suggestion flag %+v", text, r)
		}
		if o := r.OutOfRemit; o != nil && (o.Place == "" || o.Target == "" || (o.Level != LevelCity && o.Level != LevelProvince)) {
			t.Fatalf("%q: remit %+v", text, o)
		}
		if again := c.Classify(text); !reflect.DeepEqual(r, again) {
			t.Fatalf("%q: not deterministic: %+v vs %+v", text, r, again)
		}
	})
}
