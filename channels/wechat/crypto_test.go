package wechat

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"
)

// WeChat's published sample (the WXBizMsgCrypt samples of the official docs):
// the same token, EncodingAESKey and AppID, and a message WeChat encrypted.
const (
	sampleToken     = "QDG6eK"
	sampleAESKey    = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	sampleAppID     = "wx5823bf96d3bd56c7"
	sampleMsgSig    = "477715d11cdb4164915debcba66cb864d751f3e6"
	sampleTimestamp = "1409659813"
	sampleNonce     = "1372623149"
	sampleEncrypt   = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
	// The URL-verification vector of the same samples: an encrypted echostr.
	sampleEchoSig       = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
	sampleEchoTimestamp = "1409659589"
	sampleEchoNonce     = "263014780"
	sampleEchoStr       = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)

func TestPublishedSampleVerifiesAndDecrypts(t *testing.T) {
	if !signatureOK(sampleMsgSig, sampleToken, sampleTimestamp, sampleNonce, sampleEncrypt) {
		t.Fatalf("sample msg_signature does not verify; computed %s", Signature(sampleToken, sampleTimestamp, sampleNonce, sampleEncrypt))
	}
	if signatureOK(sampleMsgSig, sampleToken, sampleTimestamp, "1372623150", sampleEncrypt) {
		t.Fatal("signature verified with another nonce")
	}
	plain, err := Decrypt(sampleEncrypt, sampleAESKey, sampleAppID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(plain)
	if err != nil {
		t.Fatalf("parse decrypted sample: %v\n%s", err, plain)
	}
	want := Message{ToUserName: sampleAppID, FromUserName: "mycreate", CreateTime: "1409659813", MsgType: "text", Content: "hello", MsgID: "4561255354251345929"}
	if m != want {
		t.Fatalf("decrypted sample = %+v, want %+v", m, want)
	}
	if _, err := Decrypt(sampleEncrypt, sampleAESKey, "wx0000000000000000"); !errors.Is(err, ErrAppIDMismatch) {
		t.Fatalf("another AppID: err = %v, want ErrAppIDMismatch", err)
	}

	// The URL-verification vector: signature over the encrypted echostr, which
	// opens to a number for the same AppID.
	if !signatureOK(sampleEchoSig, sampleToken, sampleEchoTimestamp, sampleEchoNonce, sampleEchoStr) {
		t.Fatal("sample echostr signature does not verify")
	}
	echo, err := Decrypt(sampleEchoStr, sampleAESKey, sampleAppID)
	if err != nil {
		t.Fatal(err)
	}
	if !allDigits(string(echo)) {
		t.Fatalf("echostr opened to %q, want digits", echo)
	}
}

func TestEncryptRoundTripWithSampleKey(t *testing.T) {
	doc := []byte("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[路灯坏了]]></Content><MsgId>1</MsgId></xml>")
	enc, err := Encrypt(doc, sampleAESKey, sampleAppID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt(enc, sampleAESKey, sampleAppID)
	if err != nil || string(got) != string(doc) {
		t.Fatalf("round trip = %q, %v", got, err)
	}
	for _, bad := range []string{"", "not base64!", "AAAA", enc[:len(enc)-8] + "AAAAAAA="} {
		if _, err := Decrypt(bad, sampleAESKey, sampleAppID); err == nil {
			t.Errorf("Decrypt(%q) succeeded", bad)
		}
	}
}

func TestSealReplyIsVerifiable(t *testing.T) {
	m := Message{ToUserName: "gh_account", FromUserName: "oUser", MsgType: "text"}
	now := time.Unix(1764200000, 0)
	plain, err := TextReply(m, "您好！<已收到> & ]]> 谢谢", now)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := SealReply(plain, sampleToken, sampleAESKey, sampleAppID, "n0nce", now)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Encrypt, MsgSignature, Nonce string
		TimeStamp                    string
	}
	if err := xml.Unmarshal(sealed, &out); err != nil {
		t.Fatal(err)
	}
	if out.TimeStamp != "1764200000" || out.Nonce != "n0nce" {
		t.Fatalf("timestamp/nonce = %q/%q", out.TimeStamp, out.Nonce)
	}
	if !signatureOK(out.MsgSignature, sampleToken, out.TimeStamp, out.Nonce, out.Encrypt) {
		t.Fatal("reply signature does not verify")
	}
	opened, err := Decrypt(out.Encrypt, sampleAESKey, sampleAppID)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		ToUserName, FromUserName, MsgType, Content string
	}
	if err := xml.Unmarshal(opened, &r); err != nil {
		t.Fatal(err)
	}
	if r.ToUserName != "oUser" || r.FromUserName != "gh_account" || r.MsgType != "text" || r.Content != "您好！<已收到> & ]]> 谢谢" {
		t.Fatalf("reply = %+v", r)
	}
	if !strings.Contains(string(opened), "<![CDATA[") {
		t.Fatalf("reply fields are not CDATA: %s", opened)
	}
}

func TestCheckAESKey(t *testing.T) {
	if err := checkAESKey(sampleAESKey); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"", "short", sampleAESKey + "x", strings.Repeat("!", 43)} {
		if checkAESKey(k) == nil {
			t.Errorf("checkAESKey(%q) accepted", k)
		}
	}
}
