package sqlcore

import (
	"errors"
	"testing"

	"github.com/otpreset/go/store"
)

func TestParamNames(t *testing.T) {
	tests := []struct {
		name, query, prefixes string
		want                  []string
	}{
		{"pgx", `SELECT id, pw, attrs FROM a WHERE org = @tenant_id AND mobile = @phone AND x = @phone`, "@",
			[]string{"@tenant_id", "@phone"}},
		{"quoted and commented", `SELECT '@no', "@no", $$ @no $$, $q$ @no $q$ -- @no
			/* @no */ FROM t WHERE a = @yes`, "@", []string{"@yes"}},
		{"casts, operators, positional", `SELECT @a::text, b @> '{}', c @@ d, $1 FROM t`, "@", []string{"@a"}},
		{"doubled quote", `SELECT 'it''s @no' WHERE p = @p`, "@", []string{"@p"}},
		{"sqlite prefixes", `UPDATE u SET h = :hash, p = $profile WHERE id = @user_id AND [@no] = 1`, "@:$",
			[]string{":hash", "$profile", "@user_id"}},
		{"none", `SELECT 1`, "@", nil},
		{"unterminated string", `SELECT '@no`, "@", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParamNames(tt.query, tt.prefixes)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestCheckHost(t *testing.T) {
	tests := []struct {
		name string
		h    *HostUsers
		want string
	}{
		{"own users table", nil, ""},
		{"complete", &HostUsers{UserByPhone: "q", UpdatePassword: "q"}, ""},
		{"empty", &HostUsers{}, "store: not ready: HostUsers.UserByPhone and HostUsers.UpdatePassword are empty (both are required)"},
		{"no update", &HostUsers{UserByPhone: "q", AddUser: "q"}, "store: not ready: HostUsers.UpdatePassword is empty (UserByPhone and UpdatePassword are required)"},
		{"blank lookup", &HostUsers{UserByPhone: " \n\t", UpdatePassword: "q"}, "store: not ready: HostUsers.UserByPhone is empty (UserByPhone and UpdatePassword are required)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckHost(tt.h)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tt.want || !errors.Is(err, store.ErrNotReady) {
				t.Fatalf("got %v, want %q wrapping store.ErrNotReady", err, tt.want)
			}
		})
	}
}
