// Package redact finds personal and health identifiers (PHI/PII) in transcripts and other texts
// of the five supported languages (vi, en, zh, de, fr) and redacts or tags them: phone numbers,
// dates and clock times, ages, identifiers (record, insurance and ID numbers), amounts, any run
// of digits, numbers spoken as words ("oh nine one two …", "không chín một …", "null neun
// eins …", "零九一二…"), e-mail addresses, URLs and person names.
//
// The rules are heuristics: patterns and number words per language, keywords before a number
// (phone, record, Versicherungsnummer, số điện thoại, 病历号 …) that decide its type, and for
// names, titles before a capitalised word (Mr, Dr, Herr, Frau, M., Mme, bác sĩ, anh, chị …, a
// Chinese surname before 先生, 女士, 医生 …), a small gazetteer of first names and "my name is"
// phrases. A name spoken without any of these is not found: see README.md for the recall
// measured on the committed evaluation set (redact/testdata/eval).
//
// Offsets are code-point (rune) offsets, End exclusive, like the evidence offsets of a result.
package redact

// Type is the kind of an entity.
type Type string

// The entity types. A redacted entity is replaced by its type in brackets, e.g. "[PHONE]".
const (
	// Phone is a telephone number, in digits or spoken digit by digit.
	Phone Type = "PHONE"
	// Date is a calendar date or a part of one (a day with its month, a month, a weekday, a year
	// with its month).
	Date Type = "DATE"
	// Time is a clock time ("nine o'clock", "9:30", "neun Uhr", "九点").
	Time Type = "TIME"
	// Age is a person's age ("45 years old", "45 tuổi", "45岁", "45 Jahre alt", "j'ai 45 ans").
	Age Type = "AGE"
	// ID is an identifier: a medical record, insurance, account or identity document number, or
	// any code mixing letters and at least four digits.
	ID Type = "ID"
	// Amount is a sum of money.
	Amount Type = "AMOUNT"
	// Number is any other run of digits, or a run of spoken numbers long enough to be one.
	Number Type = "NUMBER"
	// Email is an e-mail address.
	Email Type = "EMAIL"
	// URL is a web address.
	URL Type = "URL"
	// Name is a person's name (without the title before it).
	Name Type = "NAME"
)

// Types lists every entity type.
var Types = []Type{Phone, Date, Time, Age, ID, Amount, Number, Email, URL, Name}

// Placeholder is the text that replaces an entity of type t: its type in brackets.
func Placeholder(t Type) string { return "[" + string(t) + "]" }

// Entity is one entity found in a text.
type Entity struct {
	// Type is the kind of entity.
	Type Type `json:"type"`
	// Start and End are code-point (rune) offsets into the text, End exclusive.
	Start int `json:"start"`
	End   int `json:"end"`
}
