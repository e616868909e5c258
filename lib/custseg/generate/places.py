"""Places for generated persons: countries, cities with postcode schemes, streets, phones.

Phone prefixes are real mobile or geographic ranges so that generated numbers pass
`phonenumbers` validation; postcodes follow each country's format.
"""

COUNTRY_WEIGHTS: dict[str, float] = {"US": 0.5, "GB": 0.2, "DE": 0.15, "FR": 0.15}
CURRENCY: dict[str, str] = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR"}

# city -> postcode prefix; the rest of the postcode is random digits (US/DE/FR) or, for GB,
# the outward code followed by an inward code "9AA".
CITIES: dict[str, dict[str, str]] = {
    "US": {
        "New York": "100", "Los Angeles": "900", "Chicago": "606", "Houston": "770",
        "Phoenix": "850", "Seattle": "981", "Boston": "021", "Denver": "802", "Miami": "331",
        "Atlanta": "303", "Austin": "787", "Portland": "972", "San Francisco": "941",
        "Philadelphia": "191", "Dallas": "752", "Minneapolis": "554",
    },
    "GB": {
        "London": "SW1A", "Manchester": "M1", "Birmingham": "B15", "Leeds": "LS6",
        "Glasgow": "G12", "Bristol": "BS8", "Edinburgh": "EH3", "Liverpool": "L1",
        "Cardiff": "CF10", "Sheffield": "S10",
    },
    "DE": {
        "Berlin": "10", "Hamburg": "20", "München": "80", "Köln": "50",
        "Frankfurt am Main": "60", "Stuttgart": "70", "Düsseldorf": "40", "Leipzig": "04",
    },
    "FR": {
        "Paris": "750", "Lyon": "690", "Marseille": "130", "Toulouse": "310", "Nice": "060",
        "Nantes": "440", "Bordeaux": "330", "Lille": "590",
    },
}

STREET_NAMES: dict[str, tuple[str, ...]] = {
    "US": ("Oak", "Maple", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Main",
           "Sunset", "Lincoln", "Jefferson", "Highland", "Madison", "Franklin", "Spring", "River"),
    "GB": ("High", "Station", "Church", "Victoria", "Mill", "King", "Queen", "Green", "Manor",
           "Park", "London", "Albert", "York", "Grange", "Kings", "Chapel", "School", "North"),
    "DE": ("Haupt", "Bahnhof", "Schul", "Garten", "Dorf", "Berg", "Linden", "Kirch", "Wald",
           "Ring", "Mühlen", "Post", "Sonnen", "Rosen", "Friedrich", "Goethe", "Schiller", "Park"),
    "FR": ("de la Paix", "Victor Hugo", "de la République", "Pasteur", "du Moulin", "Jean Jaurès",
           "des Lilas", "de la Gare", "Voltaire", "du Général de Gaulle", "des Écoles", "Nationale"),
}

# Long form -> abbreviations seen in the wild. Generators pick a variant; `clean` unifies them.
STREET_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "US": {"Street": ("St", "St.", "Str"), "Avenue": ("Ave", "Ave.", "Av"), "Road": ("Rd", "Rd."),
           "Drive": ("Dr", "Dr."), "Lane": ("Ln", "Ln."), "Boulevard": ("Blvd", "Blvd.")},
    "GB": {"Street": ("St", "St."), "Road": ("Rd", "Rd."), "Lane": ("Ln",), "Avenue": ("Ave",),
           "Close": ("Cl",), "Way": ("Wy",)},
    "DE": {"straße": ("str.", "strasse", "str")},
    "FR": {"rue": ("r.", "r"), "avenue": ("av.", "ave"), "boulevard": ("bd", "boul.")},
}

# (prefix after the country code, digits that follow) per country, mobile and geographic.
PHONE_PLANS: dict[str, tuple[tuple[str, int], ...]] = {
    "US": (("212", 7), ("415", 7), ("312", 7), ("617", 7), ("206", 7), ("303", 7), ("305", 7),
           ("404", 7), ("512", 7), ("503", 7), ("713", 7), ("718", 7), ("202", 7), ("602", 7)),
    "GB": (("74", 8), ("75", 8), ("78", 8)),
    "DE": (("151", 8), ("152", 8), ("157", 8), ("160", 7), ("170", 7), ("171", 7), ("172", 7),
           ("175", 7), ("176", 8), ("177", 8)),
    "FR": (("60", 7), ("61", 7), ("62", 7), ("64", 7), ("65", 7), ("66", 7), ("67", 7), ("68", 7),
           ("73", 7), ("75", 7), ("76", 7), ("77", 7), ("78", 7)),
}
DIAL_CODES = {"US": "1", "GB": "44", "DE": "49", "FR": "33"}

# Usual birth-date formats in each country's CRM exports (Spark datetime patterns).
DATE_FORMATS = {"US": "MM/dd/yyyy", "GB": "dd/MM/yyyy", "DE": "dd.MM.yyyy", "FR": "dd/MM/yyyy"}

COUNTRY_SPELLINGS = {
    "US": ("US", "USA", "United States", "us", "U.S.A.", "United States of America"),
    "GB": ("GB", "UK", "United Kingdom", "gb", "England", "Great Britain"),
    "DE": ("DE", "Germany", "Deutschland", "de", "DEU"),
    "FR": ("FR", "France", "fr", "FRA"),
}
