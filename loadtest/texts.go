package loadtest

import (
	"fmt"
	"strings"
)

// templates are citizen SMS texts as they reach a 12345 hotline. Every one
// uses {place} and {n} so that, with the index spread over template, place and
// number (see content), every message of a run of up to len(templates) *
// len(places) * numberRange messages has its own text.
var templates = []string{
	"{place}{n}号附近的路灯已经坏了{d}天，晚上一片漆黑，老人孩子出门很不安全，请尽快派人维修。",
	"您好，{place}{n}号楼前那排路灯整夜不亮，已经{d}天了，麻烦安排检修，谢谢。",
	"{place}{n}号的工地每天晚上十点以后还在施工，噪音特别大，孩子没法睡觉，请相关部门管一管。",
	"投诉：{place}{n}号一楼的烧烤店营业到凌晨{d}点，噪音和油烟扰民严重。",
	"{place}{n}号楼上住户每天半夜搬东西、拖椅子，噪音持续{d}个多星期了，沟通无果，请求协调。",
	"{place}{n}号小区广场舞音响开得太大，每天晚上吵到九点多，希望能限制一下音量。",
	"我家住{place}{n}号，暖气片一直是凉的，室温只有{d}度左右，物业说不归他们管，请问该找谁？",
	"{place}{n}号小区今年供暖温度明显不达标，家里有老人，{d}天了还没解决，请尽快处理。",
	"请问{place}{n}号楼什么时候开始供暖？供暖费已经交了，到现在{d}天了暖气还不热。",
	"咨询：{place}{n}号的供热管道漏水，楼道里全是水，已经{d}天没人来修了。",
	"您好，我想咨询一下公积金提取的事情。我在{place}{n}号买的二手房，首付后多久可以提取公积金？",
	"公积金咨询：单位在{place}{n}号，已经连续缴存{d}年，想办理公积金贷款，需要准备哪些材料？",
	"请问异地公积金怎么转到本市？我现在在{place}{n}号上班，已经缴了{d}个月了。",
	"我租住在{place}{n}号，请问租房提取公积金每年能提多少？需要去哪里办理？",
	"上周反映的{place}{n}号下水道堵塞问题已经解决了，谢谢12345热线，工作人员很负责！",
	"谢谢你们！{place}{n}号门口的坑洼路面已经修好了，前后只用了{d}天，为你们点赞。",
	"感谢热线帮忙协调，{place}{n}号的停水问题今天恢复了，辛苦了。",
	"谢谢12345，{place}{n}号楼道里堆的杂物已经清走了，消防通道通畅了。",
	"建议在{place}{n}号路口增设红绿灯，早晚高峰车多人多，上个月已经发生{d}起剐蹭了。",
	"建议：{place}{n}号附近公交站台没有遮阳棚，夏天等车太晒，希望能加装。",
	"建议在{place}{n}号小区门口增加几个共享单车停放点，现在车子乱停堵住了人行道。",
	"我有个建议，{place}{n}号一带缺少公共厕所，游客和环卫工人都很不方便，能否增设一座？",
	"{place}{n}号旁边的垃圾桶已经{d}天没人清运了，臭味很大，苍蝇很多，请尽快处理。",
	"反映一下，{place}{n}号小区自来水发黄有异味，已经持续{d}天，请水务部门检测。",
	"{place}{n}号楼从昨天开始停电，到现在还没来电，冰箱里的东西都坏了，请问什么时候恢复？",
	"{place}{n}号门前人行道被商户占道经营，行人只能走机动车道，很危险。",
	"{place}{n}号的井盖松动了，车一压就响，晚上还有人差点踩空，请尽快更换。",
	"举报：{place}{n}号有人私自搭建违章建筑，已经盖了{d}层了，请城管部门查处。",
	"{place}{n}号附近有一棵大树倾斜严重，刮风时很危险，请园林部门来看看。",
	"小区{place}{n}号电梯经常停运，上周困人{d}次，物业一直不处理，请相关部门督促。",
	"我是{place}{n}号的商户，想咨询营业执照变更经营范围需要哪些材料，能否网上办理？",
	"{place}{n}号的公司拖欠我{d}个月工资，多次讨要无果，请问应该向哪个部门投诉？",
	"孩子户口在{place}{n}号，想咨询今年小学入学报名的时间和需要准备的材料。",
	"{place}{n}号路段的排水口堵了，一下雨路面积水有{d}十厘米深，车辆通行困难。",
	"{place}{n}号小区的物业费今年突然上涨，业主都不知情，请问这样合规吗？",
	"请问{place}{n}号附近的社区卫生服务中心周末开门吗？想给老人办理慢病卡。",
}

var places = []string{
	"人民路", "解放路", "中山路", "建设路", "和平街", "幸福路", "文化路", "新华路",
	"胜利路", "长江路", "黄河路", "泰山路", "青年路", "光明街", "东风路", "朝阳路",
	"民主路", "振兴路", "学府路", "滨河路", "工业路", "花园路", "五一路", "红旗路",
	"金沙江路", "迎宾大道", "世纪大道", "府前街", "南关街", "北园大街",
	"阳光小区", "锦绣家园", "翠苑小区", "碧水湾小区", "金桥花园", "康乐小区",
	"银河湾", "书香门第", "和谐家园", "丽景小区",
}

const numberRange = 300 // house/building numbers 1..300

// content is the text of message i: distinct for i < len(templates) *
// len(places) * numberRange (432,000), varied beyond.
func content(i int) string {
	t := templates[i%len(templates)]
	j := i / len(templates)
	place := places[j%len(places)]
	j /= len(places)
	n := j%numberRange + 1
	j /= numberRange
	d := (i*7+j)%9 + 2
	return strings.NewReplacer(
		"{place}", place,
		"{n}", fmt.Sprint(n),
		"{d}", fmt.Sprint(d),
	).Replace(t)
}

// mobilePrefixes are allocated Chinese mobile number blocks.
var mobilePrefixes = []string{
	"130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
	"150", "151", "152", "153", "155", "156", "157", "158", "159",
	"166", "173", "175", "176", "177", "178",
	"180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
	"191", "193", "195", "198", "199",
}

// phone is the sender of message i: a valid mobile number (1[3-9] + 9 digits),
// distinct for i < len(mobilePrefixes) * 10^8. base shifts the numbers per run.
func phone(i int, base uint64) string {
	p := mobilePrefixes[i%len(mobilePrefixes)]
	k := uint64(i / len(mobilePrefixes))
	// 7919 is coprime to 10^8, so k -> (base + k*7919) mod 10^8 is a bijection.
	const space = 100_000_000
	suffix := (base + k*7919) % space
	return fmt.Sprintf("%s%08d", p, suffix)
}
