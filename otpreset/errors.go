package otpreset

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// fieldError is one entry of a 1134 answer's Errors list.
type fieldError struct {
	FieldName    string `json:"FieldName"`
	ErrorMessage string `json:"ErrorMessage"`
}

// apiError is a LoginRadius-style error answer. Every error otpreset writes is
// one of these, built in this file only: the single table from causes to
// LoginRadius codes.
type apiError struct {
	Status      int    `json:"-"`
	ErrorCode   int    `json:"ErrorCode"`
	Message     string `json:"Message"`
	Description string `json:"Description"`
	// Errors lists the fields that failed validation (ErrorCode 1134).
	Errors []fieldError `json:"Errors,omitempty"`
	// Data carries extra facts, e.g. {"LoginLockedTimeout": "..."} for 1198.
	Data                  any             `json:"Data,omitempty"`
	IsProviderError       bool            `json:"IsProviderError"`
	ProviderErrorResponse json.RawMessage `json:"ProviderErrorResponse"`

	// RetryAfter, when positive, is sent as the Retry-After header (seconds).
	RetryAfter int `json:"-"`
	// raw, when set, is written instead of the JSON of the fields above (the
	// 1409 body carries the seed's lower-case keys beside the upper-case ones).
	raw []byte
}

func (e *apiError) Error() string {
	return "otpreset: " + strconv.Itoa(e.ErrorCode) + " " + e.Message
}

func newAPIError(status, code int, message, description string) *apiError {
	return &apiError{Status: status, ErrorCode: code, Message: message, Description: description, ProviderErrorResponse: json.RawMessage("null")}
}

// fixedAPIError is newAPIError with its body encoded once, for the answers
// that never change.
func fixedAPIError(status, code int, message, description string) *apiError {
	e := newAPIError(status, code, message, description)
	e.raw = e.mustEncode()
	return e
}

// The fixed answers, encoded once (they are written on every refusal).
// Messages and descriptions of 908, 901, 950 and 1409 are the seed's, byte
// for byte. They are shared: never modify one.
var (
	errMissingAPIKey = fixedAPIError(http.StatusBadRequest, 908, "A parameter is not formatted correctly", "The apikey is a required parameter.")
	errUnknownAPIKey = fixedAPIError(http.StatusForbidden, 901, "The API key is unauthorized", "The provided LoginRadius API key is invalid or is not authorized, please use a valid or authorized LoginRadius API key or check the API key for your LoginRadius account.")
	errInternal      = fixedAPIError(http.StatusInternalServerError, 950, "Operation failed due to an unknown error", "An unknown error has occurred, please try again in a few minutes or contact your system admin.")
	errAuthFailed    = &apiError{Status: http.StatusUnauthorized, ErrorCode: 1409, Message: "Authentication failed", Description: "The credentials provided could not be authenticated.",
		raw: []byte(AuthFailedBody)}

	errNotJSON         = fixedAPIError(http.StatusBadRequest, 1090, "The request body is not formatted correctly", "The request body must be a JSON object.")
	errBodyTooLarge    = fixedAPIError(http.StatusRequestEntityTooLarge, 1090, "The request body is not formatted correctly", "The request body is larger than the limit.")
	errContentType     = fixedAPIError(http.StatusBadRequest, 1083, "The Content-Type is not supported", "Send the request body as application/json.")
	errMissingPassword = fixedAPIError(http.StatusBadRequest, 1089, "A parameter is not formatted correctly", "The password is a required parameter.")
	errMissingPhone    = fixedAPIError(http.StatusBadRequest, 1076, "A parameter is not formatted correctly", "The phone is a required parameter.")
	errMissingOTP      = fixedAPIError(http.StatusBadRequest, 908, "A parameter is not formatted correctly", "The otp is a required parameter.")
	errBadPhone        = fixedAPIError(http.StatusBadRequest, 1096, "Invalid phone number, format", "The phone number is not valid; send it in international form, e.g. +919999999999.")
	errMethod          = fixedAPIError(http.StatusMethodNotAllowed, 405, "Method not allowed", "This endpoint accepts POST (send a code) and PUT (reset the password).")
	errNotFound        = fixedAPIError(http.StatusNotFound, 404, "Not found", "No endpoint is served at this path.")

	errUnknownPhone = fixedAPIError(http.StatusForbidden, 1043, "Phone number does not exist", "No account is registered with this phone number.")
	errSendFailed   = fixedAPIError(http.StatusForbidden, 1072, "The Verification code (OTP) send failed", "The code could not be sent; please try again later.")

	errInvalidOTP   = fixedAPIError(http.StatusForbidden, 1067, "Invalid OTP code", "The code is not valid; please check it or ask for a new one.")
	errUsedOTP      = fixedAPIError(http.StatusForbidden, 1068, "OTP code has already been used", "This code was already used; please ask for a new one.")
	errExpiredOTP   = fixedAPIError(http.StatusForbidden, 1069, "OTP code has expired", "This code has expired; please ask for a new one.")
	errNoOTP        = fixedAPIError(http.StatusForbidden, 1070, "OTP code can not be accessed", "No code is available for this phone number; please ask for a new one.")
	errUserNotExist = fixedAPIError(http.StatusForbidden, 938, "User does not exist", "No account is registered with this phone number.")

	errCaptcha         = fixedAPIError(http.StatusForbidden, 1218, "CAPTCHA is invalid", "The CAPTCHA is missing or was not accepted; please solve it again.")
	errCaptchaRequired = fixedAPIError(http.StatusForbidden, 1132, "CAPTCHA is required", "Too many failed attempts: this request must carry a valid CAPTCHA.")
	errBreached        = fixedAPIError(http.StatusForbidden, 1315, "Password is breached", "This password appears in a known data breach; please choose another one.")
)

// AuthFailedBody is the body of every answer to a phone/code pair (or, in a
// host's login, a phone/password pair) that does not authenticate: HTTP 401.
// It carries the seed's lower-case keys and, with the same values,
// LoginRadius's documented upper-case error keys: LoginRadius's Node.js and
// Python SDKs read only ErrorCode (and ignore the HTTP status), so without
// it they report the failure to their caller as a success. A host's own
// login answers its failures with this body too (examples/quickstart).
const AuthFailedBody = `{"errorCode":1409,"message":"Authentication failed","description":"The credentials provided could not be authenticated.",` +
	`"ErrorCode":1409,"Message":"Authentication failed","Description":"The credentials provided could not be authenticated.","IsProviderError":false,"ProviderErrorResponse":null}`

func errValidation(fields []fieldError) *apiError {
	e := newAPIError(http.StatusForbidden, 1134, "Validation failed for one or more fields", "One or more fields did not pass validation; see Errors.")
	e.Errors = fields
	return e
}

func errLocked(until string, retryAfter int) *apiError {
	e := newAPIError(http.StatusForbidden, 1198, "Your account has been locked", "Too many failed attempts for this phone number; try again after LoginLockedTimeout.")
	e.Data = map[string]string{"LoginLockedTimeout": until}
	e.RetryAfter = retryAfter
	return e
}

func errSendLimit(retryAfter int) *apiError {
	e := newAPIError(http.StatusTooManyRequests, 1179, "You have reached a limit for generating OTP", "Too many codes were requested; please try again later.")
	e.RetryAfter = retryAfter
	return e
}

func errTooManyRequests(retryAfter int) *apiError {
	e := newAPIError(http.StatusTooManyRequests, 429, "Too many requests in a particular time frame", "Too many requests from this address; please try again later.")
	e.RetryAfter = retryAfter
	return e
}

// encode returns the JSON body of e.
func (e *apiError) encode() []byte {
	if e.raw != nil {
		return e.raw
	}
	b, err := json.Marshal(e)
	if err != nil { // cannot happen with these field types; never write an empty 500
		return errInternal.mustEncode()
	}
	return b
}

func (e *apiError) mustEncode() []byte {
	b, _ := json.Marshal(e)
	return b
}

// refusal is an answer a step chose, with why: Handler.refusal logs the
// reason, once, where the answer is written.
type refusal struct {
	answer *apiError
	reason string
}

func (r *refusal) Error() string { return r.answer.Error() + " (" + r.reason + ")" }
func (r *refusal) Unwrap() error { return r.answer }

// refuse is answer, logged with reason when it is written.
func refuse(answer *apiError, reason string) error { return &refusal{answer: answer, reason: reason} }

// fault is a server-side failure at one step of a pipeline: the handler logs
// it and answers 950, never the cause.
type fault struct {
	step string
	err  error
}

func (f *fault) Error() string { return "otpreset: " + f.step + ": " + f.err.Error() }
func (f *fault) Unwrap() error { return f.err }

// faultAt marks err as the failure of step.
func faultAt(step string, err error) error { return &fault{step: step, err: err} }
