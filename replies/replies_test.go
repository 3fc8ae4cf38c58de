package replies

import (
	"testing"

	"hotline/configs"
	"hotline/ticket"
)

// The standard's texts with its placeholders filled, full-width punctuation.
func TestStandardTextsVerbatim(t *testing.T) {
	c, err := configs.Load("")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(c.Replies.SMS)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		kind string
		v    Vars
		want string
	}{
		{ticket.ReplyAnswered, Vars{Answer: "公积金可在市政务服务中心提取。"}, "您好！您的短信已收到，现已落实，答复结果如下：公积金可在市政务服务中心提取。感谢您对我们的信任！"},
		{ticket.ReplyTransferred, Vars{Unit: "市城市管理局"}, "您好，您的短信已收到，已转市城市管理局处理，请耐心等待。"},
		{ticket.ReplySuggestion, Vars{}, "您好！您的短信已收到，我们会将您的建议转相关单位办理。感谢您对政府工作的支持！"},
		{ticket.ReplyThanks, Vars{}, "您好！您的短信已收到，这是我们应该做的，感谢您对我们工作的关心与支持，我们将在今后的工作中更好的为广大市民服务。"},
		{ticket.ReplyOutOfRemit, Vars{Place: "济南市", Target: "济南市"}, "您好！您的短信已收到，现答复结果如下：您的问题属济南市管理，建议向济南市反映。感谢您对我们的信任！"},
		{ticket.ReplyIncomplete, Vars{}, "您好！您的短信已收到，请详细说明情况，重新编辑完整信息发送短信，以便我们进一步处理。感谢您对政府工作的支持！"},
	}
	for _, c := range cases {
		got, err := s.Render(c.kind, c.v)
		if err != nil || got != c.want {
			t.Errorf("%s:\n got %s\nwant %s (%v)", c.kind, got, c.want, err)
		}
	}
}

func TestUnknownPlaceholderRefused(t *testing.T) {
	c, _ := configs.Load("")
	bad := c.Replies.SMS
	bad.Thanks = "谢谢{name}"
	if _, err := New(bad); err == nil {
		t.Fatal("unknown placeholder accepted")
	}
}
