package otpreset

import (
	"bytes"
	"encoding/json"
	"sort"
	"time"

	"github.com/otpreset/go/store"
)

// maskedPassword is what every Profile answer shows in place of a password.
const maskedPassword = "********"

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

// updatedProfile is the user's profile after a reset. Uid, ID and PhoneId
// left empty by the stored profile are the user's id and phone. A user
// whose store keeps no profile at all (none, null or {}) is answered as an
// ordinary account, active and with its phone verified (the reset's code
// has just proved it), rather than with false, which a LoginRadius client
// may take for a deactivated account; the SQL adapters give such users the
// same values before a reset.
func updatedProfile(u store.User, now time.Time) (Profile, error) {
	var p Profile
	empty := true
	if len(u.Profile) > 0 && string(u.Profile) != "null" {
		if err := json.Unmarshal(u.Profile, &p); err != nil {
			return Profile{}, err
		}
		empty = isEmptyObject(u.Profile)
	}
	if p.Uid == "" {
		p.Uid = u.ID
	}
	if p.ID == "" {
		p.ID = u.ID
	}
	if p.PhoneId == "" {
		p.PhoneId = u.Phone
	}
	if empty {
		p.IsActive = true
		p.PhoneIdVerified = true
	}
	now = now.UTC().Truncate(time.Second)
	p.LastPasswordChangeDate = &now
	p.ModifiedDate = &now
	p.Password = maskedPassword
	p.IsLoginLocked = false
	p.LoginLockedType = "None"
	p.IsPasswordBreached = false
	return p, nil
}

// isEmptyObject reports whether raw, a JSON object, has no member.
func isEmptyObject(raw json.RawMessage) bool {
	var members map[string]json.RawMessage
	return json.Unmarshal(raw, &members) == nil && len(members) == 0
}
