package otpreset

import (
	"bytes"
	"encoding/json"
	"sort"
	"time"
)

// MaskedPassword is what every Profile answer shows in place of a password.
const MaskedPassword = "********"

// EmailEntry is one of a profile's e-mail addresses.
type EmailEntry struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// Profile is a user's LoginRadius profile. The identity core is typed; every
// other field of LoginRadius's schema (and any a host adds) is kept as it came
// in and written back unchanged, so a decode/encode round trip loses nothing.
type Profile struct {
	Uid                    string         `json:"Uid"`
	ID                     string         `json:"ID"`
	FirstName              string         `json:"FirstName"`
	LastName               string         `json:"LastName"`
	FullName               string         `json:"FullName"`
	UserName               string         `json:"UserName"`
	PhoneId                string         `json:"PhoneId"`
	PhoneIdVerified        bool           `json:"PhoneIdVerified"`
	Email                  []EmailEntry   `json:"Email"`
	EmailVerified          bool           `json:"EmailVerified"`
	IsActive               bool           `json:"IsActive"`
	IsDeleted              bool           `json:"IsDeleted"`
	IsLoginLocked          bool           `json:"IsLoginLocked"`
	LoginLockedType        string         `json:"LoginLockedType"`
	IsPasswordBreached     bool           `json:"IsPasswordBreached"`
	Password               string         `json:"Password"`
	Roles                  []string       `json:"Roles"`
	CustomFields           map[string]any `json:"CustomFields"`
	LastPasswordChangeDate *time.Time     `json:"LastPasswordChangeDate"`
	PasswordExpirationDate *time.Time     `json:"PasswordExpirationDate"`
	CreatedDate            *time.Time     `json:"CreatedDate"`
	ModifiedDate           *time.Time     `json:"ModifiedDate"`
	LastLoginDate          *time.Time     `json:"LastLoginDate"`
	SignupDate             *time.Time     `json:"SignupDate"`

	// rest holds every field not typed above, as it came in.
	rest map[string]json.RawMessage
}

// profileFields is Profile without its methods, so (un)marshalling the typed
// part does not recurse.
type profileFields Profile

// typedProfileKeys are the JSON names of Profile's typed fields.
var typedProfileKeys = func() map[string]bool {
	b, _ := json.Marshal(profileFields{})
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	keys := make(map[string]bool, len(m))
	for k := range m {
		keys[k] = true
	}
	return keys
}()

// UnmarshalJSON decodes the typed fields and keeps every other one.
func (p *Profile) UnmarshalJSON(b []byte) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	var f profileFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	for k := range all {
		if typedProfileKeys[k] {
			delete(all, k)
		}
	}
	if len(all) == 0 {
		all = nil
	}
	f.rest = all
	*p = Profile(f)
	return nil
}

// MarshalJSON writes the typed fields, then the kept ones in key order.
func (p Profile) MarshalJSON() ([]byte, error) {
	typed, err := json.Marshal(profileFields(p))
	if err != nil {
		return nil, err
	}
	if len(p.rest) == 0 {
		return typed, nil
	}
	keys := make([]string, 0, len(p.rest))
	for k := range p.rest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.Grow(len(typed) + 64*len(keys))
	buf.Write(typed[:len(typed)-1]) // drop the closing brace
	for _, k := range keys {
		buf.WriteByte(',')
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(p.rest[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// Extra returns the raw JSON of a field that Profile does not type (nil if
// absent), e.g. p.Extra("Addresses").
func (p *Profile) Extra(name string) json.RawMessage { return p.rest[name] }

// SetExtra sets a field that Profile does not type to raw JSON.
func (p *Profile) SetExtra(name string, raw json.RawMessage) {
	if typedProfileKeys[name] {
		return
	}
	if p.rest == nil {
		p.rest = map[string]json.RawMessage{}
	}
	p.rest[name] = raw
}

// ResetData is the Data of a successful reset answer.
type ResetData struct {
	Profile      Profile `json:"Profile"`
	AccessToken  string  `json:"access_token"`
	RefreshToken string  `json:"refresh_token"`
	// ExpiresIn is an RFC 3339 timestamp (LoginRadius's name, not a duration).
	ExpiresIn time.Time `json:"expires_in"`
}

// ResetResponse is the 200 answer of PUT /identity/v2/auth/password/otp.
type ResetResponse struct {
	IsPosted bool       `json:"IsPosted"`
	Data     *ResetData `json:"Data,omitempty"`
}

// SendData is the Data of the send answer: exactly AccountSid and Sid.
type SendData struct {
	AccountSid string `json:"AccountSid"`
	Sid        string `json:"Sid"`
}

// SendResponse is the 200 answer of POST /identity/v2/auth/password/otp.
type SendResponse struct {
	IsPosted bool     `json:"IsPosted"`
	Data     SendData `json:"Data"`
}
