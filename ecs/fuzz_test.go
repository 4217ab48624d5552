package ecs

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

// fuzzSecret stands for the access key secret the Client knows; it must never come back.
const fuzzSecret = "Fz7secretQ9xKLp2+/w=="

// FuzzClassify feeds arbitrary codes, statuses and messages, in every error shape the SDK and
// the transport produce, with the secret spliced in: Classify must never panic, always give a
// known class and never echo the secret.
func FuzzClassify(f *testing.F) {
	f.Add("DryRunOperation", 400, "Request validation has been passed with DryRun flag set.", uint8(0))
	f.Add("ImageUsingByInstance", 403, "The specified image has been used to create instances.", uint8(1))
	f.Add("Throttling.User", 400, "Request was denied due to user flow control.", uint8(1))
	f.Add("InternalError", 500, "The request processing has failed due to some unknown error.", uint8(4))
	f.Add("", 0, "EOF", uint8(2))
	f.Add("", 0, "read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer", uint8(3))
	f.Add("SignatureDoesNotMatch", 400, "Signature=abc&SecurityToken=def", uint8(5))
	f.Add("x", 429, "", uint8(6))
	f.Fuzz(func(t *testing.T, code string, status int, message string, shape uint8) {
		k := len(message) / 2
		msg := message[:k] + fuzzSecret + message[k:]
		if shape&0x80 != 0 {
			code += fuzzSecret
		}
		var err error
		data := map[string]interface{}{"Code": code, "Message": msg, "RequestId": message + fuzzSecret}
		switch shape % 8 {
		case 0:
			err = tea.NewSDKError(map[string]interface{}{"code": code, "statusCode": status, "message": msg, "data": data})
		case 1:
			err = &openapi.ClientError{StatusCode: tea.Int(status), Code: tea.String(code), Message: tea.String(msg), Data: data}
		case 2:
			err = &url.Error{Op: "Post", URL: "http://127.0.0.1:1/?Signature=" + message, Err: errors.New(msg)}
		case 3:
			err = errors.New(msg)
		case 4:
			err = &openapi.ServerError{StatusCode: tea.Int(status), Code: tea.String(code), Message: tea.String(msg)}
		case 5:
			err = &openapi.ThrottlingError{StatusCode: tea.Int(status), Code: tea.String(code), Message: tea.String(msg),
				RetryAfter: dara.Int64(int64(status)), RequestId: tea.String(fuzzSecret)}
		case 6:
			err = &dara.SDKError{Code: dara.String(code), StatusCode: dara.Int(status), Message: dara.String(msg)}
		case 7:
			err = dara.TeaSDKError(&openapi.ClientError{StatusCode: tea.Int(status), Code: tea.String(code), Message: tea.String(msg), Data: data})
		}
		e := classify(err, []string{fuzzSecret})
		if e == nil {
			t.Fatal("nil *Error for a non-nil error")
		}
		if e.Class <= ClassUnknown || e.Class > ClassDryRunIgnored {
			t.Fatalf("class %v for %v", e.Class, err)
		}
		if e.Code == "" {
			t.Fatal("empty code")
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative RetryAfter %v", e.RetryAfter)
		}
		for _, s := range []string{e.Error(), e.Message, e.Code, e.RequestID} {
			if strings.Contains(s, fuzzSecret) || strings.Contains(s, url.QueryEscape(fuzzSecret)) {
				t.Fatalf("secret echoed: %q", s)
			}
		}
		if e.Err != nil && strings.Contains(e.Err.Error(), fuzzSecret) {
			t.Fatalf("secret in Err: %q", e.Err.Error())
		}
	})
}
