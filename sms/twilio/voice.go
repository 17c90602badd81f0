package twilio

import (
	"encoding/xml"
	"strings"
)

// voiceTwiML returns the TwiML of a voice code: a short pause (the callee
// is lifting the phone), then the intro and the code read character by
// character, "1, 2, 3, 4, 5, 6." (the commas make every text-to-speech
// voice pause between digits, unlike SSML which only some voices honour),
// then a pause and the same sentence again.
func (s *Sender) voiceTwiML(code string) string {
	spelled := make([]string, 0, len(code))
	for _, r := range code {
		spelled = append(spelled, string(r))
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="1"/>`)
	for i := range 2 {
		if i > 0 {
			b.WriteString(`<Pause length="1"/>`)
		}
		b.WriteString("<Say")
		writeAttr(&b, "voice", s.cfg.Voice)
		writeAttr(&b, "language", s.cfg.VoiceLanguage)
		b.WriteString(">")
		xml.EscapeText(&b, []byte(s.voiceIntro+" "+strings.Join(spelled, ", ")+"."))
		b.WriteString("</Say>")
	}
	b.WriteString("</Response>")
	return b.String()
}

func writeAttr(b *strings.Builder, name, value string) {
	if value == "" {
		return
	}
	b.WriteString(" " + name + `="`)
	xml.EscapeText(b, []byte(value))
	b.WriteString(`"`)
}
