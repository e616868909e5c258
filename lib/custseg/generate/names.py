"""Name vocabulary for generated persons: given names by gender, family names, nicknames.

Accented and non-English names are included on purpose: matching keys must fold accents
(Zoë / Zoe, Müller / Mueller) while display values keep them.
"""

MALE_FIRST_NAMES = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
    "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul",
    "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Edward",
    "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen",
    "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory", "Alexander",
    "Patrick", "Frank", "Raymond", "Jack", "Dennis", "Jerry", "Oliver", "Harry", "Noah", "Liam",
    "Lukas", "Jonas", "Maximilian", "Felix", "Leon", "Paul", "Hugo", "Louis", "Théo", "Jules",
    "Raphaël", "Gabriel", "Arthur", "José", "Jürgen", "Søren", "François", "Mathéo", "Henri",
)

FEMALE_FIRST_NAMES = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
    "Karen", "Nancy", "Lisa", "Margaret", "Betty", "Sandra", "Ashley", "Dorothy", "Kimberly",
    "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie",
    "Rebecca", "Laura", "Sharon", "Cynthia", "Kathleen", "Amy", "Shirley", "Angela", "Helen",
    "Anna", "Brenda", "Pamela", "Nicole", "Samantha", "Katherine", "Christine", "Victoria",
    "Olivia", "Amelia", "Isla", "Ava", "Sophie", "Charlotte", "Grace", "Mia", "Emma", "Hannah",
    "Lena", "Leonie", "Marie", "Clara", "Lea", "Chloé", "Léa", "Manon", "Camille", "Inès",
    "Zoë", "Renée", "Hélène", "Björk", "Ingrid", "Agnès", "Béatrice", "Élodie", "Jacqueline",
)

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Evans", "Turner", "Phillips",
    "Parker", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan",
    "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox",
    "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "James", "Hughes", "Price",
    "O'Brien", "O'Connor", "McDonald", "MacLeod", "Fitzgerald", "Patel", "Khan", "Singh",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
    "Neumann", "Schwarz", "Zimmermann", "Krüger", "Hofmann", "Hartmann", "Lange", "Werner",
    "Dubois", "Durand", "Lefèvre", "Leroy", "Moreau", "Simon", "Laurent", "Michel", "Garnier",
    "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Mercier", "Faure",
    "Girard", "André", "Lefebvre", "Chevalier", "François", "Legrand", "Gauthier", "Perrin",
    "de la Cruz", "van der Berg", "Da Silva", "Nowak", "Kowalski", "Novák", "Jensen", "Larsen",
)

NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Richard": "Rick", "James": "Jim", "John": "Johnny",
    "Michael": "Mike", "Thomas": "Tom", "Christopher": "Chris", "Daniel": "Dan",
    "Matthew": "Matt", "Anthony": "Tony", "Joseph": "Joe", "Charles": "Charlie",
    "Steven": "Steve", "Stephen": "Steve", "Andrew": "Andy", "Joshua": "Josh", "Kenneth": "Ken",
    "Timothy": "Tim", "Ronald": "Ron", "Edward": "Ed", "Jeffrey": "Jeff", "Nicholas": "Nick",
    "Jonathan": "Jon", "Benjamin": "Ben", "Samuel": "Sam", "Gregory": "Greg",
    "Alexander": "Alex", "Patrick": "Pat", "Raymond": "Ray", "Gerald": "Jerry",
    "Maximilian": "Max", "Mathéo": "Matt", "Elizabeth": "Liz", "Patricia": "Patty",
    "Jennifer": "Jen", "Susan": "Sue", "Jessica": "Jess", "Margaret": "Peggy",
    "Kimberly": "Kim", "Deborah": "Debbie", "Rebecca": "Becky", "Cynthia": "Cindy",
    "Kathleen": "Kathy", "Pamela": "Pam", "Samantha": "Sam", "Katherine": "Kate",
    "Christine": "Chris", "Victoria": "Vicky", "Amanda": "Mandy", "Dorothy": "Dot",
    "Barbara": "Barb", "Stephanie": "Steph", "Olivia": "Liv", "Charlotte": "Lottie",
    "Jacqueline": "Jackie", "Béatrice": "Béa", "Hannah": "Hanna",
}

TITLES_MALE = ("Mr", "Mr.", "Dr", "")
TITLES_FEMALE = ("Mrs", "Ms", "Ms.", "Miss", "Dr", "")

EMAIL_DOMAINS = {
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com", "hotmail.com"),
    "GB": ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk", "hotmail.co.uk", "icloud.com"),
    "DE": ("gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.de", "icloud.com"),
    "FR": ("gmail.com", "orange.fr", "free.fr", "laposte.net", "outlook.fr", "icloud.com"),
}
