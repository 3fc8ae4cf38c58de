package classify

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"hotline/configs"
	"hotline/ticket"
)

var dezhou = configs.City{Name: "德州市", Province: "山东省", Timezone: "Asia/Shanghai"}

func newDezhou(t testing.TB, minChars int) *Classifier {
	t.Helper()
	c, err := Default(dezhou, minChars)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	consult    = ticket.Consult
	help       = ticket.Help
	suggestion = ticket.Suggestion
	complaint  = ticket.Complaint
)

func city(name string) *Remit { return &Remit{Level: LevelCity, Place: name, Target: name} }
func otherProvince(name string) *Remit {
	return &Remit{Level: LevelCity, Place: name, Target: name + "有关部门"}
}
func province(target string) *Remit {
	return &Remit{Level: LevelProvince, Place: "省级", Target: target}
}

// messages is the table of citizen messages (SMS style: typos, mixed punctuation,
// emoji, numbers) with what the classifier must make of them, MinChars 6.
var messages = []struct {
	text     string
	nature   ticket.Nature
	category string
	flags    []string // besides the nature and category
	remit    *Remit
}{
	// 城建环保
	{"路灯不亮了", help, "城建环保", nil, nil},
	{"小区楼道灯坏了好几天了，也没人修。。。", help, "城建环保", nil, nil},
	{"德城区新湖大道那边垃圾好几天没人清运了，臭味太大", help, "城建环保", nil, nil},
	{"拉圾桶满了没人收！！", help, "城建环保", nil, nil},        // typo 拉圾
	{"暖器不热，家里才16度，冻死了😭😭", help, "城建环保", nil, nil}, // typo 暖器
	{"晚上11点了工地还在施工，噪音太大睡不着", help, "城建环保", nil, nil},
	{"投诉天衢新区某物业公司，物业费乱收费，态度恶劣", complaint, "城建环保", nil, nil},
	{"请问公积金提取需要什么材料？", consult, "城建环保", nil, nil},
	{"我们城西安置小区的暖气不热", help, "城建环保", nil, nil}, // not 西安
	{"小区大厦门口垃圾成堆没人管", help, "城建环保", nil, nil}, // not 厦门
	{"今天水压很低，洗澡都洗不了", help, "城建环保", nil, nil}, // not 天水
	// 农业经济
	{"村里的土地流转费一直没给，村委会不管", help, "农业经济", nil, nil},
	{"请问今年的种粮补贴什么时候发放", consult, "农业经济", nil, nil},
	{"复合肥价格涨得太厉害了，农民种地不挣钱", help, "农业经济", nil, nil}, // not 合肥
	{"村支书贪污集体经济的钱，实名举报！", complaint, "农业经济", nil, nil},
	// 司法民政
	{"电动车被偷了，派出所说查不到", help, "司法民政", nil, nil},
	{"家里老人想办低保，怎么办理？", consult, "司法民政", nil, nil},
	{"小区广场舞音响太大，每天晚上吵到十点", help, "司法民政", nil, nil},
	{"请问明天限号吗", consult, "司法民政", nil, nil},
	// 工业交通
	{"移动宽带老是断网，打客服也不管", help, "工业交通", nil, nil},
	{"出租车拒载，车牌鲁N·T1234", complaint, "工业交通", nil, nil},
	{"能不能增设一条公交线路到高铁东站？", suggestion, "工业交通", []string{ticket.FlagSuggestion}, nil},
	{"我们村这两天老停电，一天停好几次", help, "工业交通", nil, nil},
	// 劳动人事
	{"老板拖欠工资三个月了，求助！！", help, "劳动人事", nil, nil},
	{"失业金怎么领", consult, "劳动人事", nil, nil},
	{"医保报销比例是多少", consult, "劳动人事", nil, nil},
	{"单位不给交社保，还不签劳动合同，怎么办", help, "劳动人事", nil, nil},
	// 科教文卫
	{"孩子上学的学区划分在哪里查", consult, "科教文卫", nil, nil},
	{"某某小学老师体罚学生，请严肃处理", complaint, "科教文卫", nil, nil},
	{"超市卖过期食品，吃了拉肚子", help, "科教文卫", nil, nil},
	{"市人民医院挂号太难了，早上6点排队都挂不上", help, "科教文卫", nil, nil},
	// 财税金融
	{"营业执照办理需要多久？", consult, "财税金融", nil, nil},
	{"饭店不给开发票", help, "财税金融", nil, nil},
	{"某银行的理财经理虚假宣传，投诉！", complaint, "财税金融", nil, nil},
	// 服务业
	{"快递老是不送货上门，放驿站还收费", help, "服务业", nil, nil},
	{"政务服务中心周六上班吗", consult, "服务业", nil, nil},
	{"能否在小区附近设置一个快递柜", suggestion, "服务业", []string{ticket.FlagSuggestion}, nil},
	// 其他
	{"老年证在哪里办？", consult, "其他", nil, nil},
	{"工会的困难职工帮扶怎么申请", consult, "其他", nil, nil},
	{"我想问一下德州到石家庄的长途车几点发车", consult, "工业交通", nil, nil}, // 到石家庄: a trip, and 德州 is named
	// suggestion
	{"建议在德州市德城区新湖南路口增设红绿灯，太危险了", suggestion, "司法民政", []string{ticket.FlagSuggestion}, nil},
	{"希望多建几个公园，方便老年人锻炼", suggestion, "其他", []string{ticket.FlagSuggestion}, nil},
	// thanks
	{"谢谢你们！", help, "其他", []string{ticket.FlagThanks}, nil},
	{"路灯已经修好了，谢谢你们👍", help, "城建环保", []string{ticket.FlagThanks}, nil},
	{"感谢你们的帮助，问题已经解决了", help, "其他", []string{ticket.FlagThanks}, nil},
	{"好的，谢谢", help, "其他", []string{ticket.FlagThanks}, nil},
	{"3Q", help, "其他", []string{ticket.FlagThanks}, nil},
	{"谢谢，我家楼下路灯坏了", help, "城建环保", nil, nil},       // a matter follows
	{"问题还没解决，谢谢", help, "其他", nil, nil},           // not solved: a matter
	{"谢谢，另外请问公积金怎么提取", consult, "城建环保", nil, nil}, // a new question
	// incomplete
	{"你好", help, "其他", []string{ticket.FlagIncomplete}, nil},
	{"在吗？？", consult, "其他", []string{ticket.FlagIncomplete}, nil},
	{"喂", help, "其他", []string{ticket.FlagIncomplete}, nil},
	{"有人吗", consult, "其他", []string{ticket.FlagIncomplete}, nil},
	{"？？？", help, "其他", []string{ticket.FlagIncomplete}, nil},
	{"13812345678", help, "其他", []string{ticket.FlagIncomplete}, nil},
	{"我要反映一个问题", help, "其他", []string{ticket.FlagIncomplete}, nil},
	{"我要投诉", complaint, "其他", []string{ticket.FlagIncomplete}, nil},
	{"建议", suggestion, "其他", []string{ticket.FlagIncomplete}, nil},
	{"🙂🙂🙂", help, "其他", []string{ticket.FlagIncomplete}, nil},
	{"济南市", help, "其他", []string{ticket.FlagIncomplete}, nil}, // a place is no matter
	// out of remit: another city of the province
	{"我是济南市历下区的，小区停水三天了没人管", help, "城建环保", []string{ticket.FlagOutOfRemit}, city("济南市")},
	{"青岛的房子漏水开发商不管", help, "城建环保", []string{ticket.FlagOutOfRemit}, city("青岛市")},
	{"聊城的朋友家暖气不热怎么办", help, "城建环保", []string{ticket.FlagOutOfRemit}, city("聊城市")},
	{"在寿光市打工，老板不发工资", help, "劳动人事", []string{ticket.FlagOutOfRemit}, city("潍坊市")},
	{"济南市场监管局电话是多少", consult, "财税金融", []string{ticket.FlagOutOfRemit}, city("济南市")},
	// out of remit: outside the province
	{"北京市朝阳区某公司拖欠工资", help, "劳动人事", []string{ticket.FlagOutOfRemit}, city("北京市")},
	{"去年在上海打工工资没给", help, "劳动人事", []string{ticket.FlagOutOfRemit}, city("上海市")},
	{"江苏省人社厅电话多少", consult, "劳动人事", []string{ticket.FlagOutOfRemit}, otherProvince("江苏省")},
	{"河北省沧州市的高速收费站乱收费", complaint, "工业交通", []string{ticket.FlagOutOfRemit}, city("沧州市")},
	// out of remit: provincial matters
	{"省人社厅的社保缴费基数怎么查", consult, "劳动人事", []string{ticket.FlagOutOfRemit}, province("山东省人力资源和社会保障厅")},
	{"我是省直单位职工，公积金贷款咨询", consult, "城建环保", []string{ticket.FlagOutOfRemit}, province("省级有关部门")},
	{"省高速德州段收费站排队太长", help, "工业交通", []string{ticket.FlagOutOfRemit}, province("山东高速集团")},
	// within remit although a place is named
	{"我是德州人，在济南打工被欠薪", help, "劳动人事", nil, nil}, // 德州 named: the agent decides
	{"去济南的高铁几点有", consult, "工业交通", nil, nil},   // a trip
	{"上海的朋友介绍说德州好，想来德州落户", help, "司法民政", nil, nil},
	{"北京路上的井盖丢了", help, "城建环保", nil, nil}, // a street
	{"东方市场门口乱停车", help, "城建环保", nil, nil}, // a market, not 东方市
	{"日照时间太短，大棚里的菜长不好", help, "农业经济", nil, nil},
	{"宁津县的柳编产业有什么扶持政策", consult, "其他", nil, nil},
	{"禹城市的社保局电话", consult, "劳动人事", nil, nil},
}

func TestClassifyTable(t *testing.T) {
	c := newDezhou(t, 6)
	nine := []string{"城建环保", "农业经济", "司法民政", "工业交通", "劳动人事", "科教文卫", "财税金融", "服务业", "其他"}
	if got := c.Categories(); !slices.Equal(got, nine) {
		t.Fatalf("categories %v", got)
	}
	covered := map[string]bool{}
	natures := map[ticket.Nature]bool{}
	flags := map[string]bool{}
	for _, m := range messages {
		r := c.Classify(m.text)
		covered[r.Category] = true
		natures[r.Nature] = true
		got := c.Flags(r)
		for _, f := range got {
			flags[f] = true
		}
		if r.Nature != m.nature || r.Category != m.category || !slices.Equal(got, m.flags) || !reflect.DeepEqual(r.OutOfRemit, m.remit) {
			t.Errorf("%q:\n got  %s %s %v %+v %v\n want %s %s %v %+v", m.text,
				r.Nature, r.Category, got, r.OutOfRemit, r.Keywords, m.nature, m.category, m.flags, m.remit)
		}
		if r.Keywords == nil {
			t.Errorf("%q: nil keywords", m.text)
		}
	}
	if len(messages) < 40 {
		t.Fatalf("only %d messages", len(messages))
	}
	for _, n := range nine {
		if !covered[n] {
			t.Errorf("category %s not covered by the table", n)
		}
	}
	for _, n := range []ticket.Nature{consult, help, suggestion, complaint} {
		if !natures[n] {
			t.Errorf("nature %s not covered by the table", n)
		}
	}
	for _, f := range []string{ticket.FlagThanks, ticket.FlagSuggestion, ticket.FlagIncomplete, ticket.FlagOutOfRemit} {
		if !flags[f] {
			t.Errorf("flag %s not covered by the table", f)
		}
	}
}

func TestKeywordsExplainTheDecision(t *testing.T) {
	c := newDezhou(t, 6)
	r := c.Classify("投诉天衢新区某物业公司，物业费乱收费，态度恶劣")
	if !slices.Contains(r.Keywords, "投诉") || !slices.Contains(r.Keywords, "物业公司") || !slices.Contains(r.Keywords, "物业费") {
		t.Fatalf("keywords %v", r.Keywords)
	}
	r = c.Classify("北京市朝阳区某公司拖欠工资")
	if !slices.Contains(r.Keywords, "北京市") || !slices.Contains(r.Keywords, "拖欠工资") {
		t.Fatalf("keywords %v", r.Keywords)
	}
	r = c.Classify("路灯已经修好了，谢谢你们👍")
	if !slices.Contains(r.Keywords, "谢谢你们") || !slices.Contains(r.Keywords, "已经修好") {
		t.Fatalf("keywords %v", r.Keywords)
	}
}

// The length rule: short messages naming a subject are complete; short messages
// without one are not; a non-positive minimum means the default (6).
func TestMinChars(t *testing.T) {
	for _, tc := range []struct {
		min        int
		text       string
		incomplete bool
	}{
		{6, "路灯不亮了", false},        // 5 characters, but 路灯 is a subject
		{6, "停水了", false},          // 3 characters, 停水
		{6, "有事找你", true},          // 4 characters, no subject
		{3, "有事找你", false},         // long enough with a smaller minimum
		{0, "有事找你", true},          // 0: the data's default_min_chars (6)
		{-1, "有事找你", true},         // likewise
		{6, "有事找你，急急急", false},     // 7 characters
		{6, "你好你好你好在吗在吗有人吗", true}, // long, but only greetings
		{6, "你好，1234567890", true}, // only a number besides the greeting
		{6, "   ", true},
		{6, "", true},
	} {
		c := newDezhou(t, tc.min)
		if tc.min <= 0 && c.MinChars() != 6 {
			t.Fatalf("default min chars %d", c.MinChars())
		}
		if r := c.Classify(tc.text); r.Incomplete != tc.incomplete {
			t.Errorf("min %d %q: incomplete %v, want %v (%v)", tc.min, tc.text, r.Incomplete, tc.incomplete, r.Keywords)
		}
	}
}

func TestOwnCountiesAreWithinRemit(t *testing.T) {
	c := newDezhou(t, 6)
	for _, place := range []string{"德州", "德州市", "德城区", "陵城区", "禹城市", "乐陵市", "临邑县", "平原县", "夏津县",
		"武城县", "庆云县", "宁津县", "齐河县", "天衢新区", "德州天衢新区"} {
		r := c.Classify(place + "的亲戚在济南市历下区，小区停水了")
		if r.OutOfRemit != nil {
			t.Errorf("%s: out of remit %+v", place, r.OutOfRemit)
		}
		if r := c.Classify(place + "的小区停水三天了"); r.OutOfRemit != nil || r.Incomplete {
			t.Errorf("%s: %+v", place, r)
		}
	}
}

// Words that contain city names, or are city names, must not send citizens away.
func TestPlaceFalsePositives(t *testing.T) {
	c := newDezhou(t, 6)
	for _, text := range []string{
		"明天津贴能发下来吗，单位拖欠工资", // 天津 straddles 明天/津贴
		"这些东西安装在楼道里太危险了",   // 西安
		"确保定期清运垃圾",         // 保定
		"白银的价格涨了，金店乱收费",    // 白银 is silver
		"朝阳的房间冬天暖气也不热",     // 朝阳 is facing the sun
		"未开封的食品能退货吗",       // 开封
		"老城区的下水道堵了",        // 老城区 is a district of 洛阳 but a common word
		"我家住在城区，路灯坏了",      // 城区 (several cities)
		"兰州拉面馆的油烟太大",       // noodles
		"中国移动山东营业厅服务态度差",   // 东营 straddles 山东/营业
		"隆重庆祝建党节，小区挂灯笼扰民",  // 重庆
		"三明治店卫生太差了",        // 三明
		"在北京时间八点就停电了",      // time
		"复合肥料质量有问题",        // 合肥
		"我家是朝阳区的，暖气不热",     // 朝阳区: 北京 and 长春, ambiguous
	} {
		if r := c.Classify(text); r.OutOfRemit != nil {
			t.Errorf("%q: out of remit %+v (%v)", text, r.OutOfRemit, r.Keywords)
		}
	}
}

func TestOtherCityConfigured(t *testing.T) {
	c, err := Default(configs.City{Name: "济南"}, 6) // short name, province from the data
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Classify("历下区的路灯坏了"); r.OutOfRemit != nil {
		t.Fatalf("历下区 is Jinan's: %+v", r.OutOfRemit)
	}
	r := c.Classify("德州市德城区的路灯坏了")
	if !reflect.DeepEqual(r.OutOfRemit, city("德州市")) {
		t.Fatalf("got %+v", r.OutOfRemit)
	}
	r = c.Classify("省人社厅电话是多少")
	if !reflect.DeepEqual(r.OutOfRemit, province("山东省人力资源和社会保障厅")) {
		t.Fatalf("got %+v", r.OutOfRemit)
	}
	// A city missing from the data: only its own name is known, and nothing breaks.
	c, err = Default(configs.City{Name: "测试市", Province: "测试省"}, 6)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Classify("省人社厅电话是多少"); r.OutOfRemit == nil || r.OutOfRemit.Target != "测试省人力资源和社会保障厅" {
		t.Fatalf("got %+v", r.OutOfRemit)
	}
	if r := c.Classify("测试市的路灯坏了"); r.OutOfRemit != nil {
		t.Fatalf("got %+v", r.OutOfRemit)
	}
}

func TestFlagsOrder(t *testing.T) {
	c := newDezhou(t, 6)
	got := c.Flags(Result{Thanks: true, Suggestion: true, Incomplete: true, OutOfRemit: &Remit{}})
	want := []string{ticket.FlagThanks, ticket.FlagSuggestion, ticket.FlagIncomplete, ticket.FlagOutOfRemit}
	if !slices.Equal(got, want) {
		t.Fatalf("%v", got)
	}
	if f := c.Flags(Result{}); len(f) != 0 {
		t.Fatalf("%v", f)
	}
	r := c.Classify("建议济南市的公交线路延长运营时间")
	if got := c.Flags(r); !slices.Equal(got, []string{ticket.FlagSuggestion, ticket.FlagOutOfRemit}) {
		t.Fatalf("%v %+v", got, r)
	}
}

func TestNormalisation(t *testing.T) {
	c := newDezhou(t, 6)
	a := c.Classify("ＫＴＶ 噪 音 扰民到半夜两点")
	b := c.Classify("ktv噪音扰民到半夜两点")
	if !reflect.DeepEqual(a, b) || a.Category != "城建环保" && a.Category != "司法民政" {
		t.Fatalf("%+v vs %+v", a, b)
	}
	if r := c.Classify("请问\u200b居住证怎么办理"); r.Nature != consult || r.Category != "司法民政" {
		t.Fatalf("%+v", r)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := newDezhou(t, 6)
	want := make([]Result, len(messages))
	for i, m := range messages {
		want[i] = c.Classify(m.text)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, m := range messages {
				if got := c.Classify(m.text); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("%q: %+v != %+v", m.text, got, want[i])
				}
			}
		}()
	}
	wg.Wait()
}

func TestParseDataErrors(t *testing.T) {
	base := string(configs.ClassifyData())
	for name, doc := range map[string]string{
		"empty":            "",
		"unknown key":      base + "\nsurprise: 1\n",
		"no categories":    "default_category: 其他\ndefault_nature: help\nthanks: {keywords: [谢谢]}\n",
		"bad nature":       strings.Replace(base, "default_nature: help", "default_nature: praise", 1),
		"bad default cat":  strings.Replace(base, "default_category: 其他", "default_category: 杂项", 1),
		"shared keyword":   strings.Replace(base, "extra: [发改,", "extra: [路灯, 发改,", 1),
		"shared nature kw": strings.Replace(base, "keywords: [投诉, 举报,", "keywords: [投诉, 举报, 请问,", 1),
		"empty keyword":    strings.Replace(base, "extra: [发改,", "extra: [\"  \", 发改,", 1),
		"bad yaml":         "categories: [",
	} {
		if doc == base {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if _, err := ParseData([]byte(doc)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	d, err := ParseData(configs.ClassifyData())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(d, []byte("{"), dezhou, 6); err == nil {
		t.Error("bad divisions accepted")
	}
	if _, err := New(d, []byte(`{"provinces":[]}`), dezhou, 6); err == nil {
		t.Error("empty divisions accepted")
	}
	if _, err := New(nil, configs.Divisions(), dezhou, 6); err == nil {
		t.Error("nil data accepted")
	}
}

// The shipped data follows the standard: every term of section 二(二)2 is there.
func TestStandardTermsPresent(t *testing.T) {
	d, err := ParseData(configs.ClassifyData())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"城建环保": {"市容管理", "路灯", "夜间施工噪声", "建筑工人拖欠工资", "住房公积金", "水电十三局"},
		"农业经济": {"土地承包", "惠农补贴", "农村两区同建", "漳卫南运河管理"},
		"司法民政": {"政府法制", "娱乐噪声", "低保", "仲裁"},
		"工业交通": {"通信产业", "联通", "移动", "电信", "高铁东站", "高速公路"},
		"劳动人事": {"就业", "城镇职工养老保险", "军转安置"},
		"科教文卫": {"科技", "新型农村合作医疗", "药品监管"},
		"财税金融": {"工商管理", "国税", "地税", "国资管理"},
		"服务业":  {"政务服务审批", "粮食收购", "烟草"},
		"其他":   {"民族宗教", "机关效能", "行风建设", "打私", "口岸", "老龄工作"},
	}
	for _, cat := range d.Categories {
		for _, w := range want[cat.Name] {
			if !slices.Contains(cat.Standard, w) {
				t.Errorf("%s: %s missing", cat.Name, w)
			}
		}
		delete(want, cat.Name)
	}
	if len(want) != 0 {
		t.Errorf("categories missing: %v", want)
	}
}

func TestDivisionsData(t *testing.T) {
	doc := configs.Divisions()
	if len(doc) > 400*1024 {
		t.Fatalf("divisions.json is %d bytes", len(doc))
	}
	fi, err := os.Stat("../configs/divisions.json")
	if err == nil && fi.Size() != int64(len(doc)) {
		t.Fatalf("embedded and file differ")
	}
	for _, w := range []string{"德州市", "禹城市", "乐陵市", "济南市", "历下区", "北京市", "朝阳区", "延边朝鲜族自治州", "\"short\":\"延边\""} {
		if !strings.Contains(string(doc), w) {
			t.Errorf("%s missing", w)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	c := newDezhou(b, 6)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c.Classify(messages[i%len(messages)].text)
	}
}

func BenchmarkClassifyLong(b *testing.B) {
	c := newDezhou(b, 6)
	var sb strings.Builder
	for _, m := range messages {
		sb.WriteString(m.text)
	}
	text := sb.String() // about 1,500 characters
	b.ReportAllocs()
	for b.Loop() {
		c.Classify(text)
	}
}
