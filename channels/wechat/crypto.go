package wechat

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"
)

// Errors of the callback's authentication; the handler maps them to 401/403.
var (
	ErrBadSignature  = errors.New("bad signature")
	ErrAppIDMismatch = errors.New("decrypted message is for another AppID")
)

// Signature is WeChat's callback signature: SHA-1 over the sorted,
// concatenated parts (token, timestamp, nonce and, in safe mode, the Encrypt
// field). It is the library's util.Signature.
func Signature(parts ...string) string { return util.Signature(parts...) }

// signatureOK compares a presented signature with the expected one in constant
// time. An empty token never verifies.
func signatureOK(got, token string, parts ...string) bool {
	if token == "" || got == "" {
		return false
	}
	want := Signature(append([]string{token}, parts...)...)
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// checkAESKey reports whether key is a valid EncodingAESKey: 43 base64
// characters decoding (with the "=" WeChat leaves off) to 32 bytes.
func checkAESKey(key string) error {
	if len(key) != 43 {
		return fmt.Errorf("wechat.encoding_aes_key must be 43 characters, got %d", len(key))
	}
	b, err := base64.StdEncoding.DecodeString(key + "=")
	if err != nil || len(b) != 32 {
		return fmt.Errorf("wechat.encoding_aes_key is not a valid EncodingAESKey")
	}
	return nil
}

// Decrypt opens a safe-mode Encrypt field (AES-256-CBC, the library's
// util.DecryptMsg) and checks that the AppID at its end is appID.
func Decrypt(encrypt, aesKey, appID string) (plain []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			plain, err = nil, invalid("decrypt: %v", r)
		}
	}()
	// util.DecryptMsg checks the AppID too, but with a message that cannot be
	// told from a decryption failure: check it here first.
	b, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		return nil, invalid("Encrypt is not base64")
	}
	key, _ := base64.StdEncoding.DecodeString(aesKey + "=")
	if len(key) != 32 {
		return nil, fmt.Errorf("invalid EncodingAESKey")
	}
	_, plain, gotAppID, err := util.AESDecryptMsg(b, key)
	if err != nil {
		return nil, invalid("decrypt: %v", err)
	}
	if subtle.ConstantTimeCompare(gotAppID, []byte(appID)) != 1 {
		return nil, ErrAppIDMismatch
	}
	return plain, nil
}

// Encrypt seals a plain XML document the way WeChat does (random 16 bytes,
// length, document, AppID; AES-256-CBC; base64): the library's util.EncryptMsg.
func Encrypt(plain []byte, aesKey, appID string) (string, error) {
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		return "", err
	}
	b, err := util.EncryptMsg(random, plain, appID, aesKey)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// TextReply renders a passive text reply to the user of m (the library's
// message.Text with its CDATA fields).
func TextReply(m Message, text string, now time.Time) ([]byte, error) {
	r := message.NewText(text)
	r.SetToUserName(message.CDATA(m.FromUserName))
	r.SetFromUserName(message.CDATA(m.ToUserName))
	r.SetCreateTime(now.Unix())
	r.SetMsgType(message.MsgTypeText)
	return xml.Marshal(r)
}

// SealReply wraps a passive reply for safe mode: the encrypted document, its
// msg signature, the timestamp and the nonce.
func SealReply(plain []byte, token, aesKey, appID, nonce string, now time.Time) ([]byte, error) {
	enc, err := Encrypt(plain, aesKey, appID)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	return xml.Marshal(message.ResponseEncryptedXMLMsg{
		EncryptedMsg: enc,
		MsgSignature: Signature(token, ts, nonce, enc),
		Timestamp:    now.Unix(),
		Nonce:        nonce,
	})
}
