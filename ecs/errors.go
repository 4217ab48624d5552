package ecs

import "time"

// Class is what the job does about an error.
type Class int

// The classes of error. The zero value is never returned by Classify for a non-nil error.
const (
	ClassUnknown       Class = iota
	ClassPass                // DryRunOperation: the dry run passed
	ClassBlocked             // a business refusal: the image cannot be deleted as it is
	ClassRetryable           // throttling, 5xx, 429, network errors, timeouts
	ClassNotFound            // InvalidImageId.NotFound and the like
	ClassFailed              // everything else: permission, signature, parameters
	ClassDryRunIgnored       // a 2xx answer to a DryRun request: fatal
)

// Error is an ECS call's failure, classified. It never holds credentials.
type Error struct {
	Class      Class
	Code       string        // the service's code, or a code of ours for transport faults
	StatusCode int           // HTTP status, 0 when none was received
	Message    string        // the service's message, scrubbed of secrets
	RequestID  string        // the service's request id, when there was one
	RetryAfter time.Duration // the service's TimeLeft hint, 0 when none
	Throttled  bool          // a throttling answer: slow down, the image itself is fine
	Err        error         // the underlying error, for errors.Is on context errors; may be nil
}

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// Unwrap gives errors.Is and errors.As the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// String names the class.
func (c Class) String() string {
	switch c {
	case ClassPass:
		return "pass"
	case ClassBlocked:
		return "blocked"
	case ClassRetryable:
		return "retryable"
	case ClassNotFound:
		return "not_found"
	case ClassFailed:
		return "failed"
	case ClassDryRunIgnored:
		return "dry_run_ignored"
	}
	return "unknown"
}
