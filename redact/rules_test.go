package redact

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// show renders the entities of text inline: "call [PHONE:0912 345 678]".
func show(text string, ents []Entity) string {
	r := []rune(text)
	var b strings.Builder
	pos := 0
	for _, e := range ents {
		b.WriteString(string(r[pos:e.Start]))
		fmt.Fprintf(&b, "[%s:%s]", e.Type, string(r[e.Start:e.End]))
		pos = e.End
	}
	b.WriteString(string(r[pos:]))
	return b.String()
}

// ruleCases are texts and their expected entities, written inline, per language.
var ruleCases = map[string][][2]string{
	"en": {
		{"My number is oh nine one two three four five six seven eight.", "My number is [PHONE:oh nine one two three four five six seven eight]."},
		{"Call me on 0912 345 678 please.", "Call me on [PHONE:0912 345 678] please."},
		{"Just one more thing, I had pain for three days.", "Just one more thing, I had pain for three days."},
		{"The appointment is on Monday at nine o'clock.", "The appointment is on [DATE:Monday] at [TIME:nine o'clock]."},
		{"She was born on 3 March 1985 and is 45 years old.", "She was born on [DATE:3 March 1985] and is [AGE:45 years old]."},
		{"I saw him on March the third.", "I saw him on [DATE:March the third]."},
		{"My record number is double four seven two nine one.", "My record number is [ID:double four seven two nine one]."},
		{"Write to jane.doe@example.com or see www.clinic.org/help.", "Write to [EMAIL:jane.doe@example.com] or see [URL:www.clinic.org/help]."},
		{"Dr. Smith said the bill is $250.", "Dr. [NAME:Smith] said the bill is [AMOUNT:$250]."},
		{"My name is Alice Cooper and my insurance ID is AB123456.", "My name is [NAME:Alice Cooper] and my insurance ID is [ID:AB123456]."},
		{"Please describe the pain on a scale of one to ten.", "Please describe the pain on a scale of one to ten."},
		{"It costs twenty dollars.", "It costs [AMOUNT:twenty dollars]."},
		{"Sarah will call at 9:30.", "[NAME:Sarah] will call at [TIME:9:30]."},
		{"May I ask you something?", "May I ask you something?"},
		{"Take 2 tablets.", "Take [NUMBER:2] tablets."},
	},
	"de": {
		{"Meine Telefonnummer ist null eins sieben zwei drei vier fünf sechs.", "Meine Telefonnummer ist [PHONE:null eins sieben zwei drei vier fünf sechs]."},
		{"Danke, Herr Doktor, Sie haben mir das Leben gerettet.", "Danke, Herr Doktor, Sie haben mir das Leben gerettet."},
		{"Der Termin ist am Montag um neun Uhr.", "Der Termin ist am [DATE:Montag] um [TIME:neun Uhr]."},
		{"Ich bin am 3. März geboren und 45 Jahre alt.", "Ich bin am [DATE:3. März] geboren und [AGE:45 Jahre alt]."},
		{"Frau Müller hat die Versicherungsnummer 123456789.", "Frau [NAME:Müller] hat die Versicherungsnummer [ID:123456789]."},
		{"Ich habe seit drei Tagen schreckliche Kopfschmerzen.", "Ich habe seit drei Tagen schreckliche Kopfschmerzen."},
		{"Das kostet fünfundzwanzig Euro.", "Das kostet [AMOUNT:fünfundzwanzig Euro]."},
		{"Am dritten Mai war ich bei Herrn Dr. Weber.", "Am [DATE:dritten Mai] war ich bei Herrn Dr. [NAME:Weber]."},
	},
	"fr": {
		{"Mon numéro est zéro six un deux trois quatre cinq six sept huit.", "Mon numéro est [PHONE:zéro six un deux trois quatre cinq six sept huit]."},
		{"J'ai 45 ans et je suis né le 3 mars 1980.", "J'ai [AGE:45 ans] et je suis né le [DATE:3 mars 1980]."},
		{"J'ai un mal de tête terrible depuis trois jours.", "J'ai un mal de tête terrible depuis trois jours."},
		{"Le rendez-vous est lundi à neuf heures.", "Le rendez-vous est [DATE:lundi] à [TIME:neuf heures]."},
		{"Madame Dubois a payé soixante-dix euros.", "Madame [NAME:Dubois] a payé [AMOUNT:soixante-dix euros]."},
		{"Je m'appelle Pierre Martin.", "Je m'appelle [NAME:Pierre Martin]."},
		{"Décrivez la douleur sur une échelle de un à dix.", "Décrivez la douleur sur une échelle de un à dix."},
		{"Le premier avril, à 14h30.", "Le [DATE:premier avril], à [TIME:14h30]."},
	},
	"vi": {
		{"Số điện thoại của tôi là không chín một hai ba bốn năm sáu bảy tám.", "Số điện thoại của tôi là [PHONE:không chín một hai ba bốn năm sáu bảy tám]."},
		{"Tôi sinh ngày 3 tháng 3 năm 1985, năm nay 45 tuổi.", "Tôi sinh [DATE:ngày 3 tháng 3 năm 1985], năm nay [AGE:45 tuổi]."},
		{"Lịch hẹn vào thứ hai lúc chín giờ sáng.", "Lịch hẹn vào [DATE:thứ hai] lúc [TIME:chín giờ sáng]."},
		{"Tôi bị đau đầu khủng khiếp ba ngày nay.", "Tôi bị đau đầu khủng khiếp ba ngày nay."},
		{"Bác sĩ Nguyễn Văn An sẽ gọi lại.", "Bác sĩ [NAME:Nguyễn Văn An] sẽ gọi lại."},
		{"Anh cho tôi biết ngày sinh của anh được không?", "Anh cho tôi biết ngày sinh của anh được không?"},
		{"Xin mô tả mức độ đau từ một đến mười.", "Xin mô tả mức độ đau từ một đến mười."},
		{"Tiền khám là hai trăm nghìn đồng.", "Tiền khám là [AMOUNT:hai trăm nghìn đồng]."},
	},
	"zh": {
		{"我的电话是零九一二三四五六七八。", "我的电话是[PHONE:零九一二三四五六七八]。"},
		{"预约在星期一上午九点。", "预约在[DATE:星期一]上午[TIME:九点]。"},
		{"我今天感觉好一点了。", "我今天感觉好一点了。"},
		{"谢谢医生，是您救了我的命。", "谢谢医生，是您救了我的命。"},
		{"王医生说我今年45岁。", "[NAME:王]医生说我今年[AGE:45岁]。"},
		{"我是2024年3月3日出生的，叫我李明先生。", "我是[DATE:2024年3月3日]出生的，叫我[NAME:李明]先生。"},
		{"一切正常，六个月后再见。", "一切正常，六个月后再见。"},
		{"我的病历号是１２３４５６７。", "我的病历号是[ID:１２３４５６７]。"},
		{"挂号费五十块钱。", "挂号费[AMOUNT:五十块钱]。"},
		{"我叫张伟。", "我叫[NAME:张伟]。"},
	},
}

func TestRulesPerLanguage(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for lang, cases := range ruleCases {
		for _, c := range cases {
			if got := show(c[0], r.Find(c[0], lang)); got != c[1] {
				t.Errorf("%s: %q\n got  %s\n want %s", lang, c[0], got, c[1])
			}
		}
	}
}

// A gazetteer name that is also a month of the language ("Mai": a Vietnamese given name, May in
// French) is not a name: it used to make an empty span and loop for ever.
func TestGazetteerNameThatIsAMonth(t *testing.T) {
	r, _ := New(Options{})
	done := make(chan []Entity)
	go func() { done <- r.Find("Mai est venue.", "fr") }()
	select {
	case got := <-done:
		for _, e := range got {
			if e.End <= e.Start {
				t.Errorf("empty entity %+v", e)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Find did not return within 5 s")
	}
}
