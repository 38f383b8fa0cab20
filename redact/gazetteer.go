package redact

// The name lists were made for this project (no outside source): common given names of people
// in the five languages' countries, leaving out names that are also common words (Will, May,
// Grace, Hope, Rose, Mark, Bill, Pierre is kept, Marie is kept), and the most frequent
// Vietnamese and Chinese surnames. They are small on purpose: a name outside them is found only
// after a title or an introduction.

// firstNames are given names, lower case; a capitalised one is a name in any language.
var firstNames = set(
	// English
	"james", "john", "robert", "michael", "david", "william", "richard", "joseph", "thomas", "charles",
	"christopher", "daniel", "matthew", "anthony", "steven", "paul", "andrew", "joshua", "kevin", "brian",
	"george", "edward", "ronald", "timothy", "jason", "jeffrey", "ryan", "jacob", "gary", "nicholas",
	"eric", "jonathan", "stephen", "larry", "justin", "scott", "brandon", "benjamin", "samuel", "gregory",
	"mary", "patricia", "jennifer", "linda", "elizabeth", "barbara", "susan", "jessica", "sarah", "karen",
	"nancy", "lisa", "betty", "margaret", "sandra", "ashley", "kimberly", "emily", "donna", "michelle",
	"dorothy", "carol", "amanda", "melissa", "deborah", "stephanie", "rebecca", "sharon", "laura", "cynthia",
	"kathleen", "amy", "shirley", "angela", "helen", "anna", "brenda", "pamela", "nicole", "emma",
	"olivia", "sophia", "isabella", "charlotte", "amelia", "harper", "evelyn", "abigail", "ella", "chloe",
	// German
	"thomas", "michael", "andreas", "stefan", "christian", "markus", "alexander", "martin", "frank", "jürgen",
	"klaus", "wolfgang", "uwe", "dieter", "manfred", "günter", "hans", "werner", "helmut", "matthias",
	"lukas", "jonas", "leon", "finn", "felix", "maximilian", "tobias", "florian", "sebastian", "jan",
	"ursula", "monika", "petra", "sabine", "renate", "helga", "karin", "brigitte", "ingrid", "gisela",
	"susanne", "claudia", "birgit", "andrea", "stefanie", "julia", "katharina", "lena", "lea", "hannah",
	"sophie", "marie", "mia", "laura", "johanna", "anja", "nicole", "heike", "silke", "jutta",
	// French
	"jean", "pierre", "michel", "philippe", "alain", "nicolas", "christophe", "patrick", "françois", "laurent",
	"frédéric", "éric", "stéphane", "sébastien", "julien", "thierry", "olivier", "bernard", "david", "pascal",
	"hugo", "lucas", "louis", "gabriel", "arthur", "raphaël", "jules", "adam", "antoine", "mathieu",
	"marie", "nathalie", "isabelle", "sylvie", "catherine", "françoise", "valérie", "christine", "monique", "sophie",
	"sandrine", "céline", "émilie", "aurélie", "camille", "léa", "manon", "chloé", "inès", "juliette",
	"élodie", "amélie", "mathilde", "margaux", "océane", "pauline", "hélène", "brigitte", "véronique", "martine",
	// Vietnamese given names (after a surname or a title they are found anyway)
	"lan", "hương", "mai", "linh", "trang", "thảo", "ngọc", "hạnh", "phương", "thu",
	"minh", "tuấn", "hùng", "dũng", "nam", "hải", "quang", "thắng", "khoa", "huy",
)

// viSurnames are the most frequent Vietnamese surnames, lower case.
var viSurnames = set("nguyễn", "trần", "lê", "phạm", "hoàng", "huỳnh", "phan", "vũ", "võ", "đặng", "bùi", "đỗ", "hồ", "ngô", "dương", "lý", "đinh", "trương", "lương", "đào")

// zhSurnames are the most frequent Chinese surnames.
var zhSurnames = set("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
	"郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",
	"余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金",
	"石", "廖", "贾", "夏", "韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯")
