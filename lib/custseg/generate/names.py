"""Name vocabulary for generated persons: given names by gender and family names.

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
    "Aaron", "Adam", "Adrian", "Alan", "Albert", "Alfred", "Andre", "Angus", "Anton", "Archie",
    "Arnold", "Austin", "Barry", "Bernard", "Blake", "Bruce", "Bryan", "Calvin", "Cameron", "Carl",
    "Carlos", "Cedric", "Chester", "Clarence", "Clifford", "Colin", "Conor", "Craig", "Curtis",
    "Dale", "Damian", "Darren", "Dean", "Derek", "Dominic", "Douglas", "Duncan", "Dylan", "Elias",
    "Elliot", "Emil", "Ernest", "Ethan", "Evan", "Fabian", "Finn", "Florian", "Francis", "Fraser",
    "Gavin", "Gerald", "Gilbert", "Glen", "Gordon", "Graham", "Grant", "Guy", "Harold", "Harvey",
    "Hector", "Herbert", "Howard", "Hugh", "Ian", "Isaac", "Ivan", "Jamie", "Jasper", "Jeremy",
    "Jesse", "Joel", "Jordan", "Julian", "Keith", "Kieran", "Kurt", "Lance", "Leo", "Leonard",
    "Lewis", "Lloyd", "Logan", "Lucas", "Luke", "Malcolm", "Marcus", "Martin", "Mason", "Maurice",
    "Max", "Miles", "Mitchell", "Morgan", "Nathan", "Neil", "Nigel", "Norman", "Oscar", "Owen",
    "Patrice", "Percy", "Philip", "Quentin", "Ralph", "Reginald", "Rex", "Roger", "Roland", "Ross",
    "Rudolf", "Rupert", "Russell", "Seth", "Shane", "Simon", "Stanley", "Stuart", "Terence",
    "Theodore", "Tobias", "Travis", "Trevor", "Tristan", "Victor", "Vincent", "Wade", "Walter",
    "Warren", "Wesley", "Xavier", "Yannick", "Zachary", "Bastien", "Cédric", "Étienne", "Lennart",
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
    "Abigail", "Ada", "Adele", "Agatha", "Alice", "Alison", "Amber", "Andrea", "Angelica", "Annabel",
    "Annette", "April", "Audrey", "Beatrix", "Belinda", "Bethany", "Bianca", "Bridget", "Brooke",
    "Caitlin", "Carla", "Caroline", "Cassandra", "Catherine", "Cecilia", "Celeste", "Chelsea",
    "Claire", "Colette", "Constance", "Cora", "Daisy", "Dana", "Daphne", "Delia", "Diana", "Edith",
    "Eleanor", "Elena", "Eliza", "Ella", "Eloise", "Esther", "Eva", "Evelyn", "Faith", "Felicity",
    "Fiona", "Florence", "Frances", "Freya", "Gemma", "Georgia", "Gillian", "Gloria", "Gwen",
    "Harriet", "Hazel", "Heidi", "Holly", "Imogen", "Iris", "Isabel", "Ivy", "Jade", "Jane",
    "Janet", "Joanna", "Josephine", "Joy", "Judith", "Julia", "June", "Kate", "Kirsten", "Lara",
    "Leah", "Lillian", "Lily", "Lorna", "Louise", "Lucy", "Lydia", "Mabel", "Madeleine", "Maggie",
    "Maisie", "Marion", "Martha", "Matilda", "Maxine", "Megan", "Melanie", "Miranda", "Molly",
    "Monica", "Naomi", "Natalie", "Nina", "Nora", "Olga", "Paige", "Pauline", "Penelope", "Phoebe",
    "Poppy", "Priscilla", "Rachel", "Rosa", "Rosalind", "Rose", "Ruby", "Ruth", "Sabrina", "Sally",
    "Sienna", "Sonia", "Stella", "Sylvia", "Tamsin", "Tessa", "Theresa", "Ursula", "Vanessa",
    "Vera", "Violet", "Wendy", "Willow", "Yvonne", "Zara", "Anaïs", "Gaëlle", "Maëlle", "Solène",
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

# The long tail of family names, built from common roots and endings ('Ashworth', 'Blackwood',
# 'Holbrook'): real populations have tens of thousands of surnames, most of them rare.
SURNAME_ROOTS = (
    "Ash", "Black", "Brad", "Brook", "Burn", "Cald", "Carl", "Chad", "Clay", "Cole", "Crom", "Dal", "Dun",
    "East", "Ells", "Fair", "Farn", "Fox", "Gar", "Glad", "Gold", "Green", "Hal", "Hart", "Haw", "Hol",
    "Ing", "Kent", "Kings", "Lang", "Lind", "Marl", "Mid", "Mor", "New", "North", "Oak", "Pem", "Ray",
    "Red", "Rich", "Rock", "Ros", "Ryd", "Sand", "Shel", "South", "Stan", "Stock", "Sut", "Thorn",
    "Trem", "Wal", "West", "Whit", "Wick", "Wil", "Win", "Wood", "Wyn",
)
SURNAME_ENDINGS = (
    "ard", "bourne", "brook", "bury", "by", "combe", "croft", "dale", "den", "don", "er", "ett", "field",
    "ford", "gate", "ham", "hurst", "ington", "ley", "low", "man", "mere", "more", "ridge", "shaw",
    "stead", "stone", "ton", "wald", "ward", "well", "wick", "win", "wood", "worth",
)
TITLES_MALE = ("Mr", "Mr.", "Dr", "")
TITLES_FEMALE = ("Mrs", "Ms", "Ms.", "Miss", "Dr", "")

EMAIL_DOMAINS = {
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com", "hotmail.com"),
    "GB": ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk", "hotmail.co.uk", "icloud.com"),
    "DE": ("gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.de", "icloud.com"),
    "FR": ("gmail.com", "orange.fr", "free.fr", "laposte.net", "outlook.fr", "icloud.com"),
}
