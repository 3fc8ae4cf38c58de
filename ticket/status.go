package ticket

// Status of a ticket in the handling loop of the work standard:
// 受理 → 分类处置 (答复 / 转办 / 呈报) → 承办办理 → 跟踪督办 → 回访反馈 → 整理归档.
// The transitions between them are the table of package pipeline.
type Status string

const (
	StatusIntake    Status = "intake"    // 受理中: waiting for an agent to dispose of it
	StatusAnswered  Status = "answered"  // 已答复: answered directly, waiting for follow-up or close
	StatusClosed    Status = "closed"    // 已办结
	StatusArchived  Status = "archived"  // 已归档
	StatusDiscarded Status = "discarded" // 无效: not a matter (counted as invalid)

	StatusTransferReview     Status = "transfer_review"     // 待转办审核: a 承办单 waits for the transfer clerk
	StatusEscalated          Status = "escalated"           // 呈报待批示: a 呈阅件 waits for the leader's instruction
	StatusDispatched         Status = "dispatched"          // 已转办待签收: the unit has not accepted the 承办单 yet
	StatusHandling           Status = "handling"            // 承办中: the unit works on it
	StatusUnitReturned       Status = "unit_returned"       // 单位回退: waits for the clerk to transfer it again
	StatusExtensionRequested Status = "extension_requested" // 延期审核中
	StatusReplied            Status = "replied"             // 已回复待回访: the unit replied, follow-up due
	StatusSupervising        Status = "supervising"         // 督办中: the supervision office decides
)

// Statuses lists every status in the order of the loop.
var Statuses = []Status{
	StatusIntake, StatusTransferReview, StatusEscalated, StatusDispatched, StatusHandling,
	StatusExtensionRequested, StatusUnitReturned, StatusReplied, StatusSupervising,
	StatusAnswered, StatusClosed, StatusArchived, StatusDiscarded,
}

// statusLabels are the Chinese names the UI shows.
var statusLabels = map[Status]string{
	StatusIntake:             "受理中",
	StatusAnswered:           "已答复",
	StatusClosed:             "已办结",
	StatusArchived:           "已归档",
	StatusDiscarded:          "无效",
	StatusTransferReview:     "待转办审核",
	StatusEscalated:          "呈报待批示",
	StatusDispatched:         "已转办待签收",
	StatusHandling:           "承办中",
	StatusUnitReturned:       "单位回退",
	StatusExtensionRequested: "延期审核中",
	StatusReplied:            "已回复待回访",
	StatusSupervising:        "督办中",
}

// Label returns the Chinese name of s (s itself when unknown).
func (s Status) Label() string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return string(s)
}

// PublicLabel is the name a citizen is shown (web query, WeChat status): the
// centre's internal steps are all "办理中".
func (s Status) PublicLabel() string {
	switch s {
	case StatusIntake:
		return "已受理"
	case StatusAnswered:
		return "已答复"
	case StatusClosed, StatusArchived:
		return "已办结"
	case StatusDiscarded:
		return "不予受理"
	case StatusReplied:
		return "已办理，待回访"
	}
	return "办理中"
}

// natureLabels are the standard's names of the natures.
var natureLabels = map[Nature]string{Consult: "咨询", Help: "求助", Suggestion: "建议", Complaint: "投诉"}

// Label returns the Chinese name of n.
func (n Nature) Label() string {
	if l, ok := natureLabels[n]; ok {
		return l
	}
	return string(n)
}
