package sqltest

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunPattern(t *testing.T) {
	tests := []struct {
		parent  string
		catches []string
		want    string
	}{
		{"TestB", nil, `^TestB$`},
		{"TestB", []string{"Users/ProfileKeptWhole", "Resetter/Success"}, `^TestB$/^(Users|Resetter)$/^(ProfileKeptWhole|Success)$`},
		// TenantsIsolated ends at the second level: everything below runs.
		{"TestB", []string{"Users/TenantsIsolated", "Users/UserByPhoneNotFound/known_phone,_other_tenant"}, `^TestB$/^(Users)$/^(TenantsIsolated|UserByPhoneNotFound)$`},
		{"TestB/sub.x", []string{"Users/A/b c"}, `^TestB$/^sub\.x$/^(Users)$/^(A)$/^(b c)$`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, runPattern(tt.parent, tt.catches), "%s %v", tt.parent, tt.catches)
	}
	// Every level is a valid regexp that matches its names.
	for _, level := range strings.Split(runPattern("TestB", []string{"Users/UserByPhoneNotFound/known_phone,_other_tenant"}), "/") {
		_, err := regexp.Compile(level)
		assert.NoError(t, err, level)
	}
}
