"""Names and places of the demo organisations: Romanian, Polish and English, with diacritics."""

ROMANIAN_MEN = (
    "Andrei", "Alexandru", "Mihai", "Ionuț", "Ștefan", "Răzvan", "Cătălin", "Florin", "Bogdan",
    "Gheorghe", "Vlad", "Cosmin", "Radu", "Adrian", "Dragoș", "Mircea", "Tudor", "Sorin",
    "Lucian", "Costin", "Horațiu", "Marius", "Octavian", "Aurel", "Petru",
)  # fmt: skip
ROMANIAN_WOMEN = (
    "Ana", "Maria", "Elena", "Ioana", "Andreea", "Alexandra", "Cristina", "Mihaela", "Gabriela",
    "Roxana", "Oana", "Irina", "Raluca", "Simona", "Bianca", "Diana", "Loredana", "Ramona",
    "Larisa", "Alina", "Teodora", "Iuliana", "Corina", "Georgiana", "Sânziana",
)  # fmt: skip
ROMANIAN_SURNAMES = (
    "Popescu", "Ionescu", "Popa", "Pop", "Radu", "Dumitru", "Stan", "Stoica", "Gheorghe",
    "Matei", "Ciobanu", "Rusu", "Munteanu", "Constantin", "Marin", "Moldovan", "Lungu", "Ene",
    "Dinu", "Florea", "Toma", "Niculescu", "Mocanu", "Diaconu", "Căpraru", "Bălan", "Tănase",
    "Mureșan", "Țurcanu", "Șerban", "Vlădescu", "Crăciun", "Sârbu", "Năstase", "Georgescu",
    "Dobre", "Barbu", "Nistor", "Zamfir", "Oprea", "Neagu", "Vasilescu", "Bârsan", "Țăranu",
)  # fmt: skip

POLISH_MEN = (
    "Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Marcin", "Łukasz", "Jakub",
    "Mateusz", "Grzegorz", "Wojciech", "Kamil", "Bartłomiej", "Przemysław", "Maciej", "Szymon",
    "Rafał", "Dawid", "Jarosław", "Zbigniew", "Jędrzej", "Stanisław", "Bogusław", "Mikołaj",
)  # fmt: skip
POLISH_WOMEN = (
    "Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Barbara", "Ewa", "Magdalena", "Joanna",
    "Aleksandra", "Monika", "Zofia", "Dorota", "Justyna", "Beata", "Marta", "Żaneta", "Paulina",
    "Weronika", "Natalia", "Karolina", "Grażyna", "Jadwiga", "Urszula", "Bożena", "Łucja",
)  # fmt: skip
# Polish surnames in their masculine form; feminine forms are derived (-ski → -ska).
POLISH_SURNAMES = (
    "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
    "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur",
    "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski", "Nowakowski", "Pawłowski", "Michalski",
    "Król", "Wieczorek", "Jabłoński", "Wróbel", "Majewski", "Olszewski", "Stępień", "Jaworski",
    "Malinowski", "Górski", "Sikora", "Baran", "Duda", "Szewczyk", "Łuczak", "Żak",
    "Gołębiowski", "Zawadzki", "Sobczak", "Chmielewski", "Kaczmarek", "Pietrzak", "Głowacki",
)  # fmt: skip

ENGLISH_MEN = (
    "James", "Oliver", "Thomas", "Daniel", "George", "William", "Harry", "Jack", "Edward",
    "Samuel", "Henry", "Matthew", "Richard", "Christopher", "Benjamin",
)  # fmt: skip
ENGLISH_WOMEN = (
    "Emily", "Sophie", "Charlotte", "Olivia", "Amelia", "Grace", "Hannah", "Lucy", "Jessica",
    "Eleanor", "Rebecca", "Victoria", "Chloe", "Imogen", "Harriet",
)  # fmt: skip
ENGLISH_SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "O'Brien", "Murphy", "Hughes", "Fletcher", "Bennett",
)  # fmt: skip

# Regions of each country with the cities where the bank has branches, busiest first.
ROMANIAN_REGIONS = (
    ("RO-BI", "București-Ilfov", (
        "București Victoriei", "București Unirii", "București Floreasca",
        "București Drumul Taberei", "Voluntari", "Otopeni",
    )),
    ("RO-NE", "Nord-Est", ("Iași", "Suceava", "Bacău", "Piatra Neamț", "Botoșani")),
    ("RO-V", "Vest", ("Timișoara", "Arad", "Deva", "Reșița", "Hunedoara")),
    ("RO-TR", "Transilvania", ("Cluj-Napoca", "Brașov", "Sibiu", "Târgu Mureș", "Alba Iulia")),
    ("RO-SM", "Sud-Muntenia", ("Ploiești", "Pitești", "Târgoviște", "Călărași", "Giurgiu")),
    ("RO-SE", "Sud-Est", ("Constanța", "Galați", "Brăila", "Buzău", "Tulcea")),
)  # fmt: skip
POLISH_REGIONS = (
    ("PL-MZ", "Mazowieckie", (
        "Warszawa Śródmieście", "Warszawa Mokotów", "Warszawa Praga", "Warszawa Ursynów", "Radom",
        "Płock",
    )),
    ("PL-MP", "Małopolskie", ("Kraków Stare Miasto", "Kraków Nowa Huta", "Tarnów", "Nowy Sącz")),
    ("PL-SL", "Śląskie", ("Katowice", "Gliwice", "Częstochowa", "Bielsko-Biała", "Sosnowiec")),
    ("PL-PM", "Pomorskie", ("Gdańsk", "Gdynia", "Sopot", "Słupsk")),
    ("PL-WP", "Wielkopolskie", ("Poznań", "Kalisz", "Konin", "Piła")),
    ("PL-DS", "Dolnośląskie", ("Wrocław", "Wałbrzych", "Legnica", "Jelenia Góra")),
)  # fmt: skip

# HQ functions that own the outer loop's systemic problems; Customer Experience runs the program.
HQ_FUNCTIONS = (
    ("HQ-CX", "Customer Experience", "Head of Customer Experience", "CX Analyst"),
    ("HQ-COMPL", "Complaints", "Head of Complaints", "Complaints Specialist"),
    ("HQ-OPS", "Operations", "Chief Operating Officer", "Operations Specialist"),
    ("HQ-PAY", "Billing & Payments", "Head of Billing & Payments", "Payments Specialist"),
    ("HQ-IT", "IT", "Chief Information Officer", "IT Service Manager"),
    ("HQ-CARDS", "Cards", "Head of Cards", "Cards Product Manager"),
    ("HQ-LEND", "Lending", "Head of Lending", "Credit Analyst"),
)

CALL_CENTRE_TEAMS = (
    "Everyday Banking",
    "Cards & Payments",
    "Mortgages & Loans",
    "Premium Clients",
    "Business Clients",
    "Collections",
)

BRANCH_ROLES = (
    ("Personal Banker", 4),
    ("Teller", 3),
    ("Mortgage Advisor", 1),
    ("Business Banker", 1),
)

# Email domains of the reserved .example top-level domain: demo data never reaches a real mailbox.
ROMANIAN_MAIL_DOMAINS = ("posta.example", "mail.example", "inbox.example")
POLISH_MAIL_DOMAINS = ("poczta.example", "mail.example", "skrzynka.example")
ENGLISH_MAIL_DOMAINS = ("mail.example", "inbox.example")
