package pipeline

import (
	"regexp"
	"strings"
	"unicode"
)

// Reply quality check of the standard's 办理标准 (三(一)): a unit's reply states
// whether the report is true, whether it can be solved, how and by when, or why
// not with the policy basis. Replies that only say "已安排***部门处理",
// "已联系***部门调查" or "正在协调处理中" are refused, and "来电人要求不合理" must
// be phrased as "不相符" / "有出入".

// vague are the standard's non-answers (with the *** filled by anything short).
var vague = []*regexp.Regexp{
	regexp.MustCompile(`已(经)?安排.{0,20}?(部门|单位|人员|科室|街道|社区|工作人员)?(进行)?(处理|办理|解决)`),
	regexp.MustCompile(`已(经)?联系.{0,20}?(部门|单位|人员|科室|街道|社区)?(进行)?(调查|核实|处理)`),
	regexp.MustCompile(`(目前|现)?正在(积极)?(协调|研究|调查)?处理中`),
	regexp.MustCompile(`(正在|将)(积极)?协调(处理|解决)`),
	regexp.MustCompile(`(已|已经)?转(交|给)?.{0,20}?(部门|单位)(处理|办理)`),
}

// fillers are courtesy words that carry no fact.
var fillers = regexp.MustCompile(`(您好|你好|谢谢|感谢|特此(回复|答复)|请(您)?(耐心)?等待|此致|敬礼|经研究|现(将有关情况)?(回复|答复)如下|回复如下|答复如下|来电人|市民|反映的问题|关于|的问题)`)

// MinReplyChars is the least number of meaningful characters a reply has once
// the non-answers and courtesy words are removed.
const MinReplyChars = 15

// Refusal reasons.
const (
	ReasonEmpty        = "答复内容为空"
	ReasonUnreasonable = "答复中不得出现“来电人要求不合理”等生硬表述：来电人反映问题不属实或不符合政策规定的，请用“不相符”“有出入”等词语表达，并详细说明原因和政策依据"
	ReasonVague        = "答复内容不具体：不得仅答复“已安排***部门处理”“已联系***部门调查”“正在协调处理中”，请说明反映问题是否属实、能否解决、如何解决及办理时限，不能解决的说明原因并提供政策依据"
	ReasonTooShort     = "答复内容过于简单：请说明反映问题是否属实、能否解决、如何解决及办理时限，不能解决的说明原因并提供政策依据"
)

var unreasonable = regexp.MustCompile(`(来电人|来件人|市民|反映人|诉求人|当事人)?(的)?(要求|诉求)(明显|确实|纯属)?不合理`)

// CheckReply returns why a unit's reply must be refused (nil: acceptable).
func CheckReply(text string) []string {
	s := strings.TrimSpace(text)
	if s == "" {
		return []string{ReasonEmpty}
	}
	var reasons []string
	if unreasonable.MatchString(s) {
		reasons = append(reasons, ReasonUnreasonable)
	}
	rest, hadVague := s, false
	for _, re := range vague {
		if re.MatchString(rest) {
			hadVague = true
			rest = re.ReplaceAllString(rest, "")
		}
	}
	rest = fillers.ReplaceAllString(rest, "")
	if n := meaningful(rest); n < MinReplyChars {
		if hadVague {
			reasons = append(reasons, ReasonVague)
		} else {
			reasons = append(reasons, ReasonTooShort)
		}
	}
	return reasons
}

func meaningful(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			n++
		}
	}
	return n
}
