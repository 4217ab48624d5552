package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

// Codes of our own, for failures the service did not name.
const (
	CodeNetworkError      = "NetworkError"      // the connection failed, was refused, reset or dropped
	CodeTimeout           = "Timeout"           // the request's own timeout (Config.Timeout/ConnectTimeout) expired
	CodeCanceled          = "Canceled"          // the caller's context was canceled
	CodeDeadlineExceeded  = "DeadlineExceeded"  // the caller's context deadline passed
	CodeInvalidResponse   = "InvalidResponse"   // the answer could not be read as the service's JSON
	CodeDryRunNotHonoured = "DryRunNotHonoured" // a 2xx answer to a DryRun request
	CodeUnknown           = "Unknown"           // an error with no code at all
	// CodeInvalidCredentials is the SDK's own code when no credential is set; we use it too
	// when the credential provider fails.
	CodeInvalidCredentials = "InvalidCredentials"
)

// blockedCodes are business refusals: the image (or snapshot) cannot be deleted as it is now.
// Retrying will not help until someone changes the resource; the job reports and moves on.
var blockedCodes = map[string]bool{
	"ImageUsingByInstance":         true,
	"ImageUseShared":               true,
	"OperationDenied.ImageCopying": true,
	"ImageIsImporting":             true,
	"ImageIsExporting":             true,
	"ImageIsPublic":                true,
	"ImageIsCreating":              true,
	// DeleteSnapshot's refusals: an image still uses the snapshot, or disks were made from it.
	"SnapshotCreatedImage": true,
	"SnapshotCreatedDisk":  true,
	// A snapshot shared with other accounts: it must be unshared first.
	"InvalidOperation.DeleteSharedSnapshotUnsupported": true,
}

// busyCodes are DeleteSnapshot's refusals of a snapshot that is busy for now (its disk is taking
// a snapshot, another operation holds it, a related snapshot is not finished): they pass, so the
// request is retried with backoff like a 5xx, though it certainly did not take effect.
var busyCodes = map[string]bool{
	"IncorrectDiskStatus.CreatingSnapshot":        true,
	"Operation.Conflict":                          true,
	"InvalidOperation.RelatedSnapshotNotFinished": true,
}

// IsBusy reports whether code refuses a resource that is busy for now: retried, and known not
// to have taken effect.
func IsBusy(code string) bool { return busyCodes[code] }

var notFoundCodes = map[string]bool{
	"InvalidImageId.NotFound":        true,
	"InvalidSnapshotId.NotFound":     true,
	"InvalidLaunchTemplate.NotFound": true,
	// The tag calls' answer for an image that does not exist.
	"InvalidResourceId.NotFound": true,
}

var retryableCodes = map[string]bool{
	"ServiceUnavailable": true,
	"InternalError":      true,
}

func isThrottlingCode(code string) bool {
	return code == "Throttling" || strings.HasPrefix(code, "Throttling.")
}

// NewDryRunIgnored is the error for a 2xx answer to a DryRun request: the service did not
// honour DryRun and may have acted for real. It is fatal: the job must stop sending.
func NewDryRunIgnored(requestID string) *Error {
	return &Error{
		Class:     ClassDryRunIgnored,
		Code:      CodeDryRunNotHonoured,
		Message:   "the service answered a DryRun request with success: DryRun was not honoured",
		RequestID: requestID,
	}
}

// Classify is the one classification of every error an ECS call returns. It returns nil for
// nil, the error itself when it already is an *Error, and otherwise a new *Error whose Class
// is never ClassUnknown. The Message is scrubbed of signatures and security tokens found in
// URLs and headers; the Client additionally scrubs the secrets it was given.
//
// Context errors are taken as the caller's (ClassFailed, Code Canceled/DeadlineExceeded, Err
// the context error); a transport timeout of the SDK's own http.Client is a *url.Error and is
// ClassRetryable with Code Timeout.
//
// RetryAfter comes from the TimeLeft of the x-ratelimit-user-api / x-ratelimit-user headers,
// which the SDK parses as an integer; we take it as milliseconds. It survives only when the
// openapi client has DisableSDKError set (the tea.SDKError conversion drops it), which the
// Client does.
func Classify(err error) *Error {
	return classify(err, nil)
}

// classify is Classify with extra secrets to scrub from the message.
func classify(err error, secrets []string) *Error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		if done == nil {
			return &Error{Class: ClassFailed, Code: CodeUnknown, Message: "nil *ecs.Error"}
		}
		return done
	}
	e := classifyRaw(err)
	// Everything here may echo what the service or transport said: scrub it all.
	e.Message = scrub(e.Message, secrets)
	e.Code = scrub(e.Code, secrets)
	e.RequestID = scrub(e.RequestID, secrets)
	if se, ok := e.Err.(*scrubbedError); ok {
		se.msg = scrub(se.msg, secrets)
	}
	if e.Code == "" {
		e.Code = CodeUnknown
	}
	if e.Class == ClassUnknown {
		e.Class = ClassFailed
	}
	return e
}

func classifyRaw(err error) *Error {
	if e, ok := fromResponseError(err); ok {
		return e
	}
	var ce *credentialError
	if errors.As(err, &ce) {
		return &Error{Class: ClassFailed, Code: CodeInvalidCredentials, Message: err.Error()}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The SDK's own http.Client timeout also satisfies errors.Is(DeadlineExceeded) since
		// Go 1.23, so the url.Error must be looked at before the bare context errors.
		if errors.Is(ue.Err, context.Canceled) {
			return ctxError(context.Canceled)
		}
		return transportError(err, ue.Err, ue.Timeout())
	}
	// net/http's own timeouts (Client.Timeout while reading the body) also answer
	// errors.Is(DeadlineExceeded); they are net.Errors other than the context's value.
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.Is(ne, context.Canceled) &&
		ne != error(context.DeadlineExceeded) {
		return transportError(err, err, true)
	}
	if errors.Is(err, context.Canceled) {
		return ctxError(context.Canceled)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ctxError(context.DeadlineExceeded)
	}
	if errors.As(err, &ne) {
		return transportError(err, err, ne.Timeout())
	}
	if isNetworkFault(err) {
		return transportError(err, err, false)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Most likely a gateway's HTML error page in place of the service's JSON: the status
		// was lost with it, so treat it like the 5xx it most probably was.
		return &Error{Class: ClassRetryable, Code: CodeInvalidResponse, Message: err.Error()}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Error{Class: ClassFailed, Code: CodeInvalidResponse, Message: err.Error()}
	}
	return &Error{Class: ClassFailed, Code: CodeUnknown, Message: err.Error()}
}

func ctxError(ctxErr error) *Error {
	code := CodeCanceled
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		code = CodeDeadlineExceeded
	}
	return &Error{Class: ClassFailed, Code: code, Message: ctxErr.Error(), Err: ctxErr}
}

// transportError classifies a fault below HTTP: nothing (or nothing complete) came back.
// Err keeps the cause without the request URL, behind a scrubbed message.
func transportError(whole, cause error, timeout bool) *Error {
	code := CodeNetworkError
	if timeout || isTimeoutText(whole.Error()) {
		code = CodeTimeout
	}
	if cause == nil {
		cause = whole
	}
	msg := scrub(whole.Error(), nil)
	return &Error{Class: ClassRetryable, Code: code, Message: msg, Err: &scrubbedError{msg: msg, cause: cause}}
}

func isNetworkFault(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	// Some transport errors are plain strings (net/http's "transport connection broken",
	// "server closed idle connection"); match the tell-tale phrases.
	s := strings.ToLower(err.Error())
	for _, p := range []string{"connection reset", "connection refused", "broken pipe", "unexpected eof",
		"server closed", "connection broken", "use of closed network connection", "no such host"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return s == "eof" || strings.HasSuffix(s, ": eof")
}

func isTimeoutText(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "timeout") || strings.Contains(s, "timed out") || strings.Contains(s, "deadline exceeded")
}

// responseError is what every openapi error type (ClientError, ServerError, ThrottlingError,
// AlibabaCloudError) offers.
type responseError interface {
	GetStatusCode() *int
	GetCode() *string
	GetMessage() *string
	GetRequestId() *string
	GetRetryAfter() *int64
	GetData() map[string]interface{}
}

// fromResponseError reads the service's answer out of any of the SDK's error shapes.
func fromResponseError(err error) (*Error, bool) {
	var (
		status     int
		code, msg  string
		requestID  string
		retryAfter int64
		data       map[string]interface{}
	)
	var re responseError
	var teaErr *tea.SDKError
	var daraErr *dara.SDKError
	switch {
	case asResponseError(err, &re):
		status = dara.IntValue(re.GetStatusCode())
		code = dara.StringValue(re.GetCode())
		msg = dara.StringValue(re.GetMessage())
		requestID = dara.StringValue(re.GetRequestId())
		retryAfter = dara.Int64Value(re.GetRetryAfter())
		data = re.GetData()
	case errors.As(err, &teaErr) && teaErr != nil:
		status = tea.IntValue(teaErr.StatusCode)
		code = tea.StringValue(teaErr.Code)
		msg = tea.StringValue(teaErr.Message)
		data = decodeData(tea.StringValue(teaErr.Data))
	case errors.As(err, &daraErr) && daraErr != nil:
		status = dara.IntValue(daraErr.StatusCode)
		code = dara.StringValue(daraErr.Code)
		msg = dara.StringValue(daraErr.Message)
		data = decodeData(dara.StringValue(daraErr.Data))
	default:
		return nil, false
	}
	if requestID == "" {
		requestID = stringField(data, "RequestId", "requestId")
	}
	if requestID == "" {
		requestID = requestIDFromMessage(msg)
	}
	// Prefer the service's own message over the SDK's "code: 400, ... request id: ..." wrapping.
	if m := stringField(data, "Message", "message"); m != "" {
		msg = m
	}
	e := &Error{Code: code, StatusCode: status, Message: msg, RequestID: requestID}
	if retryAfter > 0 {
		e.RetryAfter = time.Duration(retryAfter) * time.Millisecond
	}
	switch {
	case code == "DryRunOperation":
		e.Class = ClassPass
	case blockedCodes[code]:
		e.Class = ClassBlocked
	case notFoundCodes[code]:
		e.Class = ClassNotFound
	case isThrottlingCode(code) || status == 429 || status == 503:
		// 503 is the service saying it is overloaded (ecs-api.md: throttling is "also seen as
		// 429/503"): slow down, the image itself is fine.
		e.Class = ClassRetryable
		e.Throttled = true
	case retryableCodes[code] || busyCodes[code] || status >= 500:
		e.Class = ClassRetryable
	default:
		e.Class = ClassFailed
	}
	return e, true
}

// asResponseError finds an openapi error, by pointer or by value, anywhere in the chain.
func asResponseError(err error, target *responseError) bool {
	for cur := err; cur != nil; cur = errors.Unwrap(cur) {
		switch v := cur.(type) {
		case *openapi.ThrottlingError:
			if v != nil {
				*target = v
				return true
			}
		case *openapi.ClientError:
			if v != nil {
				*target = v
				return true
			}
		case *openapi.ServerError:
			if v != nil {
				*target = v
				return true
			}
		case *openapi.AlibabaCloudError:
			if v != nil {
				*target = v
				return true
			}
		case openapi.ThrottlingError:
			*target = &v
			return true
		case openapi.ClientError:
			*target = &v
			return true
		case openapi.ServerError:
			*target = &v
			return true
		}
	}
	return false
}

func decodeData(s string) map[string]interface{} {
	if s == "" {
		return nil
	}
	var m map[string]interface{}
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	return m
}

func stringField(m map[string]interface{}, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case json.Number:
			return v.String()
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ""
}

var requestIDRe = regexp.MustCompile(`request id: ?([A-Za-z0-9_\-]+)`)

func requestIDFromMessage(msg string) string {
	if m := requestIDRe.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

// scrubbedError keeps a cause for errors.Is/As while printing only a scrubbed message.
type scrubbedError struct {
	msg   string
	cause error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.cause }

const redacted = "[REDACTED]"

// secretParamRe finds credentials carried as key=value in URLs, headers or dumps.
var secretParamRe = regexp.MustCompile(`(?i)((?:signature|securitytoken|security-token|security_token|accesskeysecret|access_key_secret|x-acs-security-token)\s*[=:]\s*)("?)[^&\s",;]+`)

// scrub removes known secrets (and their URL-escaped forms) and any signature or security
// token parameter from s.
func scrub(s string, secrets []string) string {
	s = secretParamRe.ReplaceAllString(s, "${1}${2}"+redacted)
	var forms []string
	for _, sec := range secrets {
		if len(sec) < 4 { // nothing that short is a real secret; scrubbing it would shred the text
			continue
		}
		forms = append(forms, sec, url.QueryEscape(sec), url.PathEscape(sec))
	}
	if len(forms) == 0 {
		return s
	}
	// Replacing can in theory splice a new occurrence together; repeat, then give up on the text.
	for i := 0; i < 4; i++ {
		found := false
		for _, f := range forms {
			if strings.Contains(s, f) {
				s = strings.ReplaceAll(s, f, redacted)
				found = true
			}
		}
		if !found {
			return s
		}
	}
	for _, f := range forms {
		if strings.Contains(s, f) {
			return "[message withheld: it contained a credential]"
		}
	}
	return s
}

// IsCredentialCode reports whether a code says the service refused the request's credentials:
// an unknown or disabled access key, a signature made with the wrong secret, a security token
// that is missing, malformed, expired or not the key's. Retrying, or another image, cannot get
// past it.
func IsCredentialCode(code string) bool {
	switch code {
	case "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId", "InvalidAccessKeyId.Inactive",
		"SignatureDoesNotMatch", "IncompleteSignature", "InvalidCredentials", "MissingSecurityToken":
		return true
	}
	return strings.HasPrefix(code, "InvalidSecurityToken")
}
